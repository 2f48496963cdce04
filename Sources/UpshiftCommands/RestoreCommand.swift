import ArgumentParser
import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftSupport

extension Upshift {
    /// `upshift restore --db-file NAME`: InvenTree's `invoke restore` of an explicitly named backup file
    /// (never "the newest"), with server and worker stopped, after a safety dump that the rollback puts back.
    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a named backup: invoke restore --db-file for InvenTree, pg_restore of an upshift dump otherwise.",
            discussion: """
                Example:
                  upshift -C /srv/inventree restore --db-file InvenTree-db-2026-01-31-120000.psql.bin.gz --yes
                  upshift -C /srv/app restore --db-file backups/app-app-20261128-130000-ab12.dump --yes
                """)

        @OptionGroup var global: GlobalOptions


        @OptionGroup var change: ChangeOptions

        @Option(name: .customLong("db-file"), help: "InvenTree: the database backup's file name in its backup directory; others: the dump path.")
        var dbFile: String

        @Option(name: .customLong("media-file"), help: "InvenTree: the media archive's file name (default: database only); others: a media tar (needs --media).")
        var mediaFile: String?

        @Option(name: .customLong("media"), help: "Generic deployments: the host directory the media archive is extracted into.")
        var mediaDirectory: String?

        @Option(name: .customLong("backup-dir"), help: "Where the safety dump goes (default: <project>/backups).")
        var backupDirectory: String?

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await global.runner()
            try await EngineEndpoint.requireLocal("restore", runner: runner)
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            let directory = project.location.directory
            let session = try RunSession(
                project: project, command: "restore --db-file \(dbFile)" + (mediaFile.map { " --media-file \($0)" } ?? ""), dryRun: change.dryRun,
                secrets: [try? project.database().password], progress: change.progress)
            defer { session.close() }
            let runID = session.runID
            let context = try await session.preflight {
                try await RestoreContext.prepare(project: project, runner: runner, runID: runID, dbFile: dbFile, mediaFile: mediaFile,
                                                 mediaDirectory: mediaDirectory, backupDirectory: backupDirectory)
            }
            let planner = RestorePlanner(context: context, runner: runner)
            let plan = try planner.plan()
            if change.dryRun { return try session.printDryRun(plan.plan, json: change.json, redactor: context.redactor) }
            let outcome = try await session.execute(
                plan: plan, folder: try session.folder(create: true), registry: .upshift(runner: runner),
                redactor: context.redactor, question: "Replace the database of \(project.name) with \(dbFile)?", yes: change.yes,
                rollbackOnFailure: !change.noRollback, engine: await RunEngine.read(runner))
            let dir = ShellQuote.quote(directory)
            switch outcome.status {
            case .succeeded:
                session.reporter.summary("\nrestored \(dbFile) into \(context.database.database) (run \(runID)); the previous contents are in \(context.safetyDumpPath)\n  undo: upshift -C \(dir) rollback --run \(runID)\n")
            case .failed, .interrupted:
                var message = "restore failed at step \(outcome.failedStep ?? "?"): \(outcome.error ?? "unknown error")"
                switch outcome.rollback {
                case .incomplete:
                    message += "\nROLLBACK INCOMPLETE: \(outcome.report.failure.map { "\($0.step): \($0.error)" } ?? ""); retry with: upshift -C \(dir) rollback --run \(runID)"
                case .skipped:
                    message += "\n--no-rollback: everything was left as it is; undo with: upshift -C \(dir) rollback --run \(runID)"
                case .complete, .notNeeded:
                    message += "\nrolled back: the database holds what it held before (from \(context.safetyDumpPath)) and the services are back"
                }
                throw UpshiftError(context.redactor.redact(message), exitCode: outcome.exitCode)
            }
        }
    }
}
