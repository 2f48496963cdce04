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


        @OptionGroup var change: ChangeOptions

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
            let runner = try await project.runner()
            try await EngineEndpoint.requireLocal("import", runner: runner)
            let hostPath = URL(fileURLWithPath: file).standardizedFileURL.path
            let encoding = convertFrom.flatMap(RecordsFile.encoding(named:))
            // The file alone first: a bad file is refused before the project is even looked at.
            _ = try RecordsImportPreflight.readFile(hostPath, convertFrom: encoding)

            let project = try await ComposeProject.load(options: self.project.composeOptions, runner: runner)
            let target = try InvenTreeEndpoint(project: project, runner: runner)
            let directory = target.directory
            let command = "import -f \(hostPath)" + (clear ? " --clear" : "")
            let session = try RunSession(project: project, command: command, dryRun: change.dryRun, secrets: [target.database.password], progress: change.progress)
            defer { session.close() }
            let runID = session.runID
            let reporter = session.reporter
            let (context, data) = try await session.preflight {
                try await RecordsImportPreflight(target: target, path: hostPath, convertFrom: encoding, options: options, runID: runID,
                                                 progress: { reporter.emit("preflight: \($0)") }).run()
            }
            for warning in context.warnings { reporter.emit("WARNING: \(warning)") }
            session.audit.note("records.file", ["file": hostPath, "records": String(context.file.totalRecords), "counts": context.file.countsText,
                                                "source_version": context.file.metadata?.sourceVersion ?? "", "target_version": "\(context.version)"])

            let folder = try session.folder(create: !change.dryRun)
            var hostFile = hostPath
            if encoding != nil && !change.dryRun {
                hostFile = folder.path + "/import-utf8.json"
                guard FileManager.default.createFile(atPath: hostFile, contents: data, attributes: [.posixPermissions: 0o600]) else {
                    throw UpshiftError("cannot write \(hostFile)")
                }
                reporter.emit("re-encoded \(hostPath) from \(convertFrom!) to UTF-8: \(hostFile)")
            }
            let planner = RecordsImportPlanner(world: RecordsImportWorld(context: context, runFolder: folder, hostFile: hostFile))
            let plan = try planner.plan(command: command)
            if change.dryRun { return try session.printDryRun(plan.plan, json: change.json, redactor: target.redactor) }
            let outcome = try await session.execute(
                plan: plan, folder: folder, registry: .upshift(runner: runner), redactor: target.redactor,
                question: "Import \(context.file.totalRecords) records into \(project.name)?", yes: change.yes, rollbackOnFailure: !change.noRollback, engine: await RunEngine.read(runner))
            try RecordsRunSummary.print(outcome: outcome, what: "import", runID: runID, directory: directory, dumpPath: context.dumpPath, redactor: target.redactor, reporter: session.reporter) {
                "Imported \(context.file.totalRecords) records of \(context.file.counts.count) models into \(project.name) (InvenTree \(context.version)); counts verified."
            }
            session.audit.note("records.imported", ["records": String(context.file.totalRecords), "counts": context.file.countsText])
        }
    }
}
