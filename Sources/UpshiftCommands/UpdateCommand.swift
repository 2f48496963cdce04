import ArgumentParser
import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift update --to VERSION`: the application update of InvenTree's "Migrating Data to Newer
    /// Version" as one command — backup, stop, tag, pull, migrate, start, version check — rolled back
    /// (old tag and old database, fingerprint-verified) on any failure.
    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Update the application to another release, with a verified rollback of tag and database on failure.",
            discussion: """
                InvenTree: sets INVENTREE_TAG in .env and runs `invoke update --skip-backup` with the new image after \
                `invoke backup` (file names recorded) and upshift's own pg_dump. Other applications: name the service \
                whose image line changes with --service.

                Example:
                  upshift -C /srv/inventree update --to 1.0.0 --dry-run
                  upshift -C /srv/inventree update --to 1.0.0 --yes
                  upshift -C /srv/app update --service app --to 2.4.1 --yes
                """)

        @OptionGroup var global: GlobalOptions


        @OptionGroup var change: ChangeOptions

        @Option(name: .customLong("to"), help: "The release to run (InvenTree: the new INVENTREE_TAG).")
        var version: String

        @Option(help: "The application service whose image changes (default: the InvenTree server).")
        var service: String?

        @Flag(name: .customLong("allow-downgrade"), help: "Allow a target older than the running version.")
        var allowDowngrade = false

        @Option(name: .customLong("backup-dir"), help: "Where upshift's dump goes (default: <project>/backups).")
        var backupDirectory: String?

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await global.runner()
            let endpoint = try await EngineEndpoint.current(runner: runner)
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            var options = AppUpdateOptions(targetVersion: version, service: service, allowDowngrade: allowDowngrade,
                                           rollbackOnFailure: !change.noRollback, backupDirectory: backupDirectory)
            if !endpoint.isLocal { options.remoteEngine = endpoint.host }
            let session = try RunSession(project: project, command: "update --to \(version)", dryRun: change.dryRun, secrets: [try? project.database().password], progress: change.progress)
            defer { session.close() }
            let reporter = session.reporter
            let audit = session.audit
            reporter.emit("preflight: checking \(project.name) for an update to \(version)")
            let context = try await session.preflight {
                try await AppUpdatePreflight(project: project, options: options, runner: runner, runID: session.runID,
                                             progress: { reporter.emit("preflight: \($0)") }).run()
            }
            for warning in context.warnings { reporter.emit("WARNING: \(warning)") }

            let folder = try session.folder(create: !change.dryRun)
            let world = AppUpdateWorld(context: context, runner: runner, runFolder: folder)
            let planner = AppUpdatePlanner(world: world)
            let plan = try planner.plan()
            if change.dryRun { return try session.printDryRun(plan.plan, json: change.json, redactor: context.redactor) }
            let tunnel = try options.remoteEngine.map { _ in
                try DatabaseTunnel(port: context.hostPort, project: context.handle.projectName, service: context.database.service, engine: .of(runner))
            }
            defer { tunnel?.stop() }
            let outcome = try await session.execute(
                plan: plan, folder: folder, registry: .upshift(runner: runner), redactor: context.redactor,
                question: "Update \(context.appService) to \(version)?", yes: change.yes, rollbackOnFailure: !change.noRollback, engine: await RunEngine.read(runner))
            if let record = try? InvenTreeBackupRecord.read(world.backupRecordPath) {
                audit.note("backup.recorded", ["database_file": record.databaseFile ?? "", "media_file": record.mediaFile ?? "",
                                               "files": record.lines.joined(separator: "; "), "upshift_dump": context.dumpPath])
            }
            try Self.summarize(outcome: outcome, world: world, reporter: reporter)
        }

        static func summarize(outcome: RunOutcome, world: AppUpdateWorld, reporter: RunReporter) throws {
            let context = world.context
            let dir = ShellQuote.quote(context.project.location.directory)
            let record = try? InvenTreeBackupRecord.read(world.backupRecordPath)
            var backupLines = ["  upshift dump: \(context.dumpPath) (+ .sha256)"]
            if let record {
                backupLines.append("  invoke backup (in \(record.hostDirectory ?? record.directory)):")
                backupLines += record.lines.map { "    \($0)" }
            }
            switch outcome.status {
            case .succeeded:
                let lines = [
                    "",
                    "\(context.isInvenTree ? "InvenTree" : context.appService) updated to \(context.options.targetVersion) (run \(context.runID)).",
                ] + backupLines + [
                    "  roll back: upshift -C \(dir) rollback --run \(context.runID)",
                ]
                reporter.summary(lines.joined(separator: "\n") + "\n")
            case .failed, .interrupted:
                var message = "update \(outcome.status == .interrupted ? "was interrupted" : "failed") at step \(outcome.failedStep ?? "?"): \(outcome.error ?? "unknown error")"
                switch outcome.rollback {
                case .complete, .notNeeded:
                    message += "\nrollback complete: the old tag, the old database (fingerprint verified) and the services are back (run \(context.runID))"
                case .skipped:
                    message += "\n--no-rollback: everything was left as it is; undo with: upshift -C \(dir) rollback --run \(context.runID)"
                case .incomplete:
                    message += "\nROLLBACK INCOMPLETE: \(outcome.report.failure.map { "\($0.step): \($0.error)" } ?? "")"
                    message += "\n  still to undo: \(outcome.report.remaining.joined(separator: ", "))"
                    message += "\n  retry with: upshift -C \(dir) rollback --run \(context.runID)"
                }
                message += "\n" + backupLines.joined(separator: "\n")
                throw UpshiftError(context.redactor.redact(message), exitCode: outcome.exitCode)
            }
        }
    }
}
