import ArgumentParser
import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift import -f FILE`: InvenTree's import-records, after every check that can be made without
    /// touching the target, with a pg_dump first and a verified rollback when the import fails.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import an InvenTree records file (invoke import-records), checked first, rolled back on failure.",
            discussion: """
                Before touching the target: the file must be UTF-8 (else the offending byte offset is named; \
                --convert-from re-encodes it), valid JSON records, written by the same InvenTree version as the target's \
                (metadata header, 1.3+), its plugin apps must exist on the target, and the target must hold no data unless \
                --clear. Then: pg_dump of the target, application stopped, file copied into the data volume, \
                `invoke import-records` with long flags, per-model record counts verified, application started. Any \
                failure restores the dump.

                Example:
                  upshift -C /srv/new-inventree import -f /backups/inventree-records.json --clear --yes
                """)

        @OptionGroup var project: RecordsProjectOptions

        @Option(name: [.short, .customLong("filename")], help: "The JSON records file on the host.")
        var file: String

        @Flag(name: .customLong("clear"), help: "Replace the target's existing data.") var clear = false
        @Flag(name: .customLong("exclude-plugins"), help: "Leave plugin data out (InvenTree 1.3+).") var excludePlugins = false
        @Flag(name: .customLong("ignore-nonexistent"), help: "Ignore models the target does not have (InvenTree 1.3+).") var ignoreNonexistent = false
        @Flag(name: .customLong("skip-migrations"), help: "No migrations after clearing (InvenTree 1.3+).") var skipMigrations = false
        @Flag(name: .customLong("strict"), help: "Fail on any metadata issue (InvenTree 1.3+).") var strict = false
        @Flag(name: .customLong("verbose"), help: "Verbose output from the management commands (InvenTree 1.3+).") var verbose = false

        @Option(name: .customLong("convert-from"), help: "Re-encode a non-UTF-8 file from this encoding (latin1, windows-1252, utf-16, …).")
        var convertFrom: String?

        @Flag(help: "Skip the confirmation prompt (required when stdin is not a terminal).") var yes = false
        @Flag(name: .customLong("dry-run"), help: "Run the checks, print the plan, change nothing.") var dryRun = false
        @Flag(name: .customLong("no-rollback"), help: "Leave a failed run as it is for inspection.") var noRollback = false

        var options: ImportRecordsOptions {
            ImportRecordsOptions(clear: clear, excludePlugins: excludePlugins, ignoreNonexistent: ignoreNonexistent, skipMigrations: skipMigrations, strict: strict, verbose: verbose)
        }

        func validate() throws {
            if let convertFrom, RecordsFile.encoding(named: convertFrom) == nil {
                throw ValidationError("unknown encoding \(convertFrom) for --convert-from; known: \(RecordsFile.encodingNames.joined(separator: ", "))")
            }
        }

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = LiveCommandRunner()
            try await EngineEndpoint.requireLocal("import", runner: runner)
            let hostPath = URL(fileURLWithPath: file).standardizedFileURL.path
            let encoding = convertFrom.flatMap(RecordsFile.encoding(named:))
            // The file alone first: a bad file is refused before the project is even looked at.
            _ = try RecordsImportPreflight.readFile(hostPath, convertFrom: encoding)

            let project = try await ComposeProject.load(options: self.project.composeOptions, runner: runner)
            let target = try InvenTreeEndpoint(project: project, runner: runner)
            let directory = target.directory
            let runID = RunID.make()
            let command = "import -f \(hostPath)" + (clear ? " --clear" : "")
            let lock = try RunGuard.lock(projectDirectory: directory, command: command, runID: runID, dryRun: dryRun)
            defer { lock?.release() }
            let audit = try AuditBridge(projectDirectory: directory, runID: runID, command: command + (dryRun ? " --dry-run" : ""), secrets: [target.database.password])
            try audit.started(["project": project.name])
            let reporter = RunReporter(audit: audit.sink)
            let context: RecordsImportContext
            let data: Data
            do {
                (context, data) = try await RecordsImportPreflight(target: target, path: hostPath, convertFrom: encoding, options: options, runID: runID,
                                                                   progress: { reporter.emit("preflight: \($0)") }).run()
            } catch {
                audit.refused(error)
                throw Refusal.wrap(error)
            }
            for warning in context.warnings { reporter.emit("WARNING: \(warning)") }
            audit.note("records.file", ["file": hostPath, "records": String(context.file.totalRecords), "counts": context.file.countsText,
                                        "source_version": context.file.metadata?.sourceVersion ?? "", "target_version": "\(context.version)"])

            if dryRun {
                let world = RecordsImportWorld(context: context, runFolder: RunFolder(projectDirectory: directory, runID: runID), hostFile: hostPath)
                print(target.redactor.redact(try RecordsImportPlanner(world: world).plan(command: command).renderText()))
                audit.note(AuditEvent.runFinished, ["outcome": "dry-run"])
                return
            }
            let folder = try RunFolder.create(projectDirectory: directory, runID: runID)
            var hostFile = hostPath
            if encoding != nil {
                hostFile = folder.path + "/import-utf8.json"
                guard FileManager.default.createFile(atPath: hostFile, contents: data, attributes: [.posixPermissions: 0o600]) else {
                    throw UpshiftError("cannot write \(hostFile)")
                }
                reporter.emit("re-encoded \(hostPath) from \(convertFrom!) to UTF-8: \(hostFile)")
            }
            let world = RecordsImportWorld(context: context, runFolder: folder, hostFile: hostFile)
            let planner = RecordsImportPlanner(world: world)
            let plan = try planner.plan(command: command)
            try folder.writePlan(plan, redactor: target.redactor)
            FileHandle.standardError.write(Data(target.redactor.redact(plan.renderText()).utf8))
            do {
                try Confirmation.ask("Import \(context.file.totalRecords) records into \(project.name)?", yes: yes)
            } catch {
                audit.refused(error)
                throw Refusal.wrap(error)
            }
            let outcome = try await RecordsRun.execute(steps: try planner.steps(), plan: plan, folder: folder, redactor: target.redactor,
                                                       rollback: !noRollback, runner: runner, reporter: reporter)
            try RecordsRun.summarize(outcome: outcome, what: "import", runID: runID, directory: directory, dumpPath: context.dumpPath, redactor: target.redactor) {
                "Imported \(context.file.totalRecords) records of \(context.file.counts.count) models into \(project.name) (InvenTree \(context.version)); counts verified."
            }
            audit.note("records.imported", ["records": String(context.file.totalRecords), "counts": context.file.countsText])
        }
    }
}

/// Running a records plan and reporting its end: shared by import and transfer.
enum RecordsRun {
    static func execute(steps: [ExecutableStep], plan: Plan, folder: RunFolder, redactor: Redactor, rollback: Bool,
                        runner: any CommandRunning, reporter: RunReporter) async throws -> RunOutcome {
        let interrupted = InterruptFlag()
        let observer = ChildProcessRegistry.shared.addObserver { _ in interrupted.set() }
        defer { ChildProcessRegistry.shared.removeObserver(observer) }
        let journal = try folder.createJournal()
        defer { journal.close() }
        let executor = Executor(
            runID: folder.runID, command: plan.command, steps: steps, journal: journal,
            registry: .upshift(runner: runner), runFolder: folder, redactor: redactor,
            options: ExecutorOptions(rollbackOnFailure: rollback, isInterrupted: { interrupted.isSet }),
            onEvent: reporter.handler)
        return await executor.run()
    }

    static func summarize(outcome: RunOutcome, what: String, runID: RunID, directory: String, dumpPath: String, redactor: Redactor, success: () -> String) throws {
        let dir = ShellQuote.quote(directory)
        switch outcome.status {
        case .succeeded:
            let lines = ["", success(), "  upshift dump of the target before the run: \(dumpPath) (+ .sha256)", "  roll back: upshift -C \(dir) rollback --run \(runID)"]
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        case .failed, .interrupted:
            var message = "\(what) \(outcome.status == .interrupted ? "was interrupted" : "failed") at step \(outcome.failedStep ?? "?"): \(outcome.error ?? "unknown error")"
            switch outcome.rollback {
            case .complete, .notNeeded:
                message += "\nrollback complete: the target's database was restored from \(dumpPath) and its services are back (run \(runID))"
            case .skipped:
                message += "\n--no-rollback: everything was left as it is; undo with: upshift -C \(dir) rollback --run \(runID)"
            case .incomplete:
                message += "\nROLLBACK INCOMPLETE: \(outcome.report.failure.map { "\($0.step): \($0.error)" } ?? "")"
                message += "\n  still to undo: \(outcome.report.remaining.joined(separator: ", "))"
                message += "\n  retry with: upshift -C \(dir) rollback --run \(runID)"
            }
            throw UpshiftError(redactor.redact(message), exitCode: outcome.exitCode)
        }
    }
}
