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


        @OptionGroup var change: ChangeOptions

        @Option(name: .customLong("to"), help: "The target installation's compose project directory.")
        var targetDirectory: String

        @Flag(name: .customLong("include-media"), help: "Copy and verify the media tree too.") var includeMedia = false

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await project.runner()
            try await EngineEndpoint.requireLocal("transfer", runner: runner)
            let sourceProject = try await ComposeProject.load(options: project.composeOptions, runner: runner)
            let targetPath = URL(fileURLWithPath: targetDirectory).standardizedFileURL.path
            let targetProject = try await ComposeProject.load(options: ComposeOptions(projectDirectory: targetPath), runner: runner)
            let source = try InvenTreeEndpoint(project: sourceProject, runner: runner)
            let target = try InvenTreeEndpoint(project: targetProject, runner: runner)
            let command = "transfer --to \(targetPath)" + (includeMedia ? " --include-media" : "")
            // The run is the target's (its journal, audit and lock); the source is only read, and locked so
            // that no run of its own changes it meanwhile.
            let session = try RunSession(
                project: targetProject, command: command, dryRun: change.dryRun, secrets: [source.database.password, target.database.password],
                auditFields: ["source": source.directory], readOnlyProjects: [source.directory], progress: change.progress)
            defer { session.close() }
            let runID = session.runID
            let reporter = session.reporter
            let redactor = source.redactor.merging(target.redactor)
            let context = try await session.preflight {
                try await TransferPreflight(source: source, target: target, includeMedia: includeMedia, runID: runID,
                                            progress: { reporter.emit("preflight: \($0)") }).run()
            }
            for warning in context.warnings { reporter.emit("WARNING: \(warning)") }
            let folder = try session.folder(create: !change.dryRun)
            let world = TransferWorld(context: context, runFolder: folder)
            let planner = TransferPlanner(world: world)
            let plan = try planner.plan(command: command)
            if change.dryRun { return try session.printDryRun(plan.plan, json: change.json, redactor: redactor) }
            let outcome = try await session.execute(
                plan: plan, folder: folder, registry: .upshift(runner: runner), redactor: redactor,
                question: "Replace the data of \(target.project.name) with the records\(includeMedia ? " and media" : "") of \(source.project.name)?",
                yes: change.yes, rollbackOnFailure: !change.noRollback, engine: await RunEngine.read(runner))
            let file = try? RecordsFile.read(path: world.exportPath).file
            if let file {
                session.audit.note("records.transferred", ["source": source.directory, "records": String(file.totalRecords), "counts": file.countsText,
                                                   "export_sha256": (try? SHA256.hexOfFile(atPath: world.exportPath)) ?? ""])
            }
            try RecordsRunSummary.print(outcome: outcome, what: "transfer", runID: runID, directory: target.directory,
                                     dumpPath: target.dumpPath(runID: runID), redactor: redactor, reporter: session.reporter) {
                var text = "Transferred \(file?.totalRecords ?? 0) records of \(file?.counts.count ?? 0) models from \(source.project.name) to \(target.project.name) (InvenTree \(context.version)); counts verified"
                text += includeMedia ? ", media verified (SHA-256 per file)." : "."
                return text
            }
        }
    }
}
