import ArgumentParser
import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift transfer --to DIR`: the seed's "Migrating Data to a Different Database" between the current
    /// project (source, only read) and the compose project in DIR (target), verified and rolled back.
    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transfer",
            abstract: "Move all InvenTree records (and media) to another installation running the same version.",
            discussion: """
                Checks that both installations are up, run the same InvenTree version (invoke version on both) and the \
                same plugins (plugins.txt, registered plugins). Then: export on the source (read only), pg_dump of the \
                target, target application stopped, `invoke migrate`, `invoke import-records --clear`, media tree copied \
                with the same paths, owners and modes through helper containers (--include-media), per-model record \
                counts and per-file SHA-256 verified, target application started. Any failure restores the target.

                Example:
                  upshift -C /srv/inventree transfer --to /srv/inventree-new --include-media --yes
                """)

        @OptionGroup var project: RecordsProjectOptions

        @Option(name: .customLong("to"), help: "The target installation's compose project directory.")
        var targetDirectory: String

        @Flag(name: .customLong("include-media"), help: "Copy and verify the media tree too.") var includeMedia = false
        @Flag(help: "Skip the confirmation prompt (required when stdin is not a terminal).") var yes = false
        @Flag(name: .customLong("dry-run"), help: "Run the checks, print the plan, change nothing.") var dryRun = false
        @Flag(name: .customLong("no-rollback"), help: "Leave a failed run as it is for inspection.") var noRollback = false

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = LiveCommandRunner()
            try await EngineEndpoint.requireLocal("transfer", runner: runner)
            let sourceProject = try await ComposeProject.load(options: project.composeOptions, runner: runner)
            let targetPath = URL(fileURLWithPath: targetDirectory).standardizedFileURL.path
            let targetProject = try await ComposeProject.load(options: ComposeOptions(projectDirectory: targetPath), runner: runner)
            let source = try InvenTreeEndpoint(project: sourceProject, runner: runner)
            let target = try InvenTreeEndpoint(project: targetProject, runner: runner)
            let runID = RunID.make()
            let command = "transfer --to \(targetPath)" + (includeMedia ? " --include-media" : "")

            let sourceLock = dryRun ? nil : try ProjectLock.acquire(projectDirectory: source.directory, command: command + " (source)", runID: runID)
            defer { sourceLock?.release() }
            let targetLock = try RunGuard.lock(projectDirectory: target.directory, command: command, runID: runID, dryRun: dryRun)
            defer { targetLock?.release() }

            let redactor = source.redactor.merging(target.redactor)
            let audit = try AuditBridge(projectDirectory: target.directory, runID: runID, command: command + (dryRun ? " --dry-run" : ""),
                                        secrets: [source.database.password, target.database.password])
            try audit.started(["project": target.project.name, "source": source.directory])
            let reporter = RunReporter(audit: audit.sink)
            let context: TransferContext
            do {
                context = try await TransferPreflight(source: source, target: target, includeMedia: includeMedia, runID: runID,
                                                      progress: { reporter.emit("preflight: \($0)") }).run()
            } catch {
                audit.refused(error)
                throw Refusal.wrap(error)
            }
            for warning in context.warnings { reporter.emit("WARNING: \(warning)") }
            if dryRun {
                let world = TransferWorld(context: context, runFolder: RunFolder(projectDirectory: target.directory, runID: runID))
                print(redactor.redact(try TransferPlanner(world: world).plan(command: command).renderText()))
                audit.note(AuditEvent.runFinished, ["outcome": "dry-run"])
                return
            }
            let folder = try RunFolder.create(projectDirectory: target.directory, runID: runID)
            let world = TransferWorld(context: context, runFolder: folder)
            let planner = TransferPlanner(world: world)
            let plan = try planner.plan(command: command)
            try folder.writePlan(plan, redactor: redactor)
            FileHandle.standardError.write(Data(redactor.redact(plan.renderText()).utf8))
            do {
                try Confirmation.ask("Replace the data of \(target.project.name) with the records\(includeMedia ? " and media" : "") of \(source.project.name)?", yes: yes)
            } catch {
                audit.refused(error)
                throw Refusal.wrap(error)
            }
            let outcome = try await RecordsRun.execute(steps: try planner.steps(), plan: plan, folder: folder, redactor: redactor,
                                                       rollback: !noRollback, runner: runner, reporter: reporter)
            let file = try? RecordsFile.read(path: world.exportPath).file
            if let file {
                audit.note("records.transferred", ["source": source.directory, "records": String(file.totalRecords), "counts": file.countsText,
                                                   "export_sha256": (try? SHA256.hexOfFile(atPath: world.exportPath)) ?? ""])
            }
            try RecordsRun.summarize(outcome: outcome, what: "transfer", runID: runID, directory: target.directory,
                                     dumpPath: target.dumpPath(runID: runID), redactor: redactor) {
                var text = "Transferred \(file?.totalRecords ?? 0) records of \(file?.counts.count ?? 0) models from \(source.project.name) to \(target.project.name) (InvenTree \(context.version)); counts verified"
                text += includeMedia ? ", media verified (SHA-256 per file)." : "."
                return text
            }
        }
    }
}
