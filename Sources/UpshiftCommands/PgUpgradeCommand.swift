import ArgumentParser
import Foundation
import Synchronization
import UpshiftCompose
import UpshiftCore
import UpshiftSupport

extension Upshift {
    /// `upshift pg-upgrade --to MAJOR`: the whole major upgrade, verified, rolled back on any failure.
    struct PgUpgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pg-upgrade",
            abstract: "Upgrade the PostgreSQL major version of the project's database, verified, with automatic rollback.",
            discussion: """
                Backs up the cluster, stops the application, moves the old data directory aside (never deletes it), \
                switches the image tag, restores into the new major, compares per-table fingerprints, and starts the stack. \
                Any failure undoes every step and verifies the old data.

                Methods: dump (default; globals + pg_dump per database, -Fd -j N in parallel when --jobs > 1), \
                pg_upgrade (the new major's pg_upgrade in an image holding both majors; --mode copy|link|clone|swap), \
                invoke (InvenTree's own backup/restore tasks). link and swap take a verified dump first and rebuild the \
                old cluster from it if the run is undone after the point of no return.

                To keep the downtime short, the dump and the "before" fingerprint are taken from one snapshot while \
                the application still serves; after it stops, they are used only if no transaction committed since \
                (else the window dumps and fingerprints again). --no-online-prepare takes both inside the window.

                Example:
                  upshift -C /srv/inventree pg-upgrade --to 18 --dry-run
                  upshift -C /srv/inventree pg-upgrade --to 18 --yes
                  upshift -C /srv/inventree pg-upgrade --to 18 --method pg_upgrade --mode link --yes
                """)

        @OptionGroup var global: GlobalOptions


        @OptionGroup var change: ChangeOptions

        @Option(name: .customLong("to"), help: "Target PostgreSQL major (e.g. 18).")
        var targetMajor: Int

        @Option(help: "How the data moves: dump (dump and restore), pg_upgrade (pg_upgrade in an upgrade image) or invoke (InvenTree backup/update/restore).")
        var method: String = "dump"

        @Option(help: "pg_upgrade transfer mode: copy (old untouched, 2x space), link (hard links), clone (reflinks), swap (18+, moves files).")
        var mode: String?

        @Option(name: .customLong("upgrade-image"), help: "Image with both majors' binaries (default: tianon/postgres-upgrade:OLD-to-NEW).")
        var upgradeImage: String?

        @Option(name: .customLong("image"), help: "The exact image for the new major (default: the same image family's tag for --to; required for a custom image).")
        var targetImage: String?

        @Option(name: .customLong("backup-dir"), help: "Where the dump goes (default: <project>/backups).")
        var backupDirectory: String?

        @Option(help: "Parallel jobs for dump/restore and pg_upgrade (default: the engine host's cores; 1 = one plain SQL stream).")
        var jobs: Int?

        @Option(name: .customLong("stop-timeout"), help: "Seconds to wait for a clean database shutdown.")
        var stopTimeout: Int = 120

        @Option(name: .customLong("ready-timeout"), help: "Seconds to wait for a server to accept logins, and for the application to come up and keep running after the switch (at most 60 for the latter); past that the run is rolled back.")
        var readyTimeout: Int = 180

        @Flag(name: .customLong("no-online-prepare"), help: "Dump and fingerprint only after the application has stopped, not from a snapshot while it still serves.")
        var noOnlinePrepare = false

        func validate() throws {
            guard UpgradeMethod(rawValue: method) != nil else {
                throw ValidationError("unknown --method \(method); available: \(UpgradeMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard stopTimeout > 0 else { throw ValidationError("--stop-timeout must be positive") }
            guard readyTimeout > 0 else { throw ValidationError("--ready-timeout must be positive") }
            if let mode {
                guard TransferMode(rawValue: mode) != nil else {
                    throw ValidationError("unknown --mode \(mode); available: \(TransferMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard method == UpgradeMethod.pgUpgrade.rawValue else { throw ValidationError("--mode only applies to --method pg_upgrade") }
            }
            if upgradeImage != nil, method != UpgradeMethod.pgUpgrade.rawValue { throw ValidationError("--upgrade-image only applies to --method pg_upgrade") }
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        }

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await global.runner()
            let endpoint = try await EngineEndpoint.current(runner: runner)
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            var options = PgUpgradeOptions(
                targetMajor: targetMajor, method: UpgradeMethod(rawValue: method)!, backupDirectory: backupDirectory,
                rollbackOnFailure: !change.noRollback, stopTimeout: stopTimeout, readyTimeout: readyTimeout,
                mode: mode.flatMap(TransferMode.init(rawValue:)) ?? .copy, jobs: jobs, upgradeImage: upgradeImage)
            if noOnlinePrepare { options.prepareOnline = false }
            options.targetImage = targetImage
            if !endpoint.isLocal { options.remoteEngine = endpoint.host }
            let session = try RunSession(
                project: project, command: "pg-upgrade --to \(targetMajor)", dryRun: change.dryRun, secrets: [try? project.database().password], progress: change.progress)
            defer { session.close() }
            let reporter = session.reporter
            reporter.emit("preflight: checking \(project.name) for PostgreSQL \(targetMajor)")
            let context = try await session.preflight {
                var context = try await PgUpgradePreflight(project: project, options: options, runner: runner, runID: session.runID, progress: { reporter.emit("preflight: \($0)") }).run()
                if options.method == .invoke {
                    let index = try await InvokeUpgradePreflight(context: context, runner: runner, progress: { reporter.emit("preflight: \($0)") }).run().packageIndex
                    context.packageIndex = index
                    if let warning = index.pluginWarning { context.notes.append("WARNING: " + warning) }
                }
                return context
            }

            let folder = try session.folder(create: !change.dryRun)
            let planner = PgUpgradePlanner(world: PgUpgradeWorld(context: context, runner: runner, runFolder: folder))
            let plan = try planner.plan()
            if change.dryRun { return try session.printDryRun(plan.plan, json: change.json, redactor: context.redactor) }
            let tunnel = try context.options.remoteEngine.map { _ in
                try DatabaseTunnel(port: context.hostPort, project: context.handle.projectName, service: context.database.service, engine: .of(runner))
            }
            defer { tunnel?.stop() }
            let outcome = try await session.execute(
                plan: plan, folder: folder, registry: .upshift(runner: runner), redactor: context.redactor,
                question: "Upgrade \(context.database.service) from PostgreSQL \(context.oldMajor) to \(targetMajor)?", yes: change.yes,
                rollbackOnFailure: !change.noRollback, engine: await RunEngine.read(runner))
            var recheck: FullRecheck.Outcome?
            if outcome.status == .succeeded && FullRecheck.isHeld(context.runID) {
                let result = await FullRecheck.run(PgUpgradeWorld(context: context, runner: runner, runFolder: folder), progress: { reporter.emit("recheck: \($0)") })
                session.audit.note("verify.recheck", result.auditFields)
                recheck = result
            }
            FullRecheck.release(context.runID)
            try PgUpgradeSummary.print(outcome: outcome, context: context, folder: folder, reporter: reporter, recheck: recheck)
        }
    }
}
