import ArgumentParser
import Foundation
import Synchronization
import UpshiftCore

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

                Example:
                  upshift -C /srv/inventree pg-upgrade --to 18 --dry-run
                  upshift -C /srv/inventree pg-upgrade --to 18 --yes
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("to"), help: "Target PostgreSQL major (e.g. 18).")
        var targetMajor: Int

        @Option(help: "How the data moves: dump (pg_dumpall-style dump and restore) or invoke (InvenTree backup/update/restore).")
        var method: String = "dump"

        @Option(name: .customLong("backup-dir"), help: "Where the dump goes (default: <project>/backups).")
        var backupDirectory: String?

        @Option(help: "Parallel jobs for dump and restore (reserved; the dump method runs one stream).")
        var jobs: Int?

        @Option(name: .customLong("stop-timeout"), help: "Seconds to wait for a clean database shutdown.")
        var stopTimeout: Int = 120

        @Flag(help: "Skip the confirmation prompt (required when stdin is not a terminal).")
        var yes = false

        @Flag(name: .customLong("dry-run"), help: "Print the plan, every command with secrets masked, and change nothing.")
        var dryRun = false

        @Flag(help: "With --dry-run: print the plan as JSON.")
        var json = false

        @Flag(name: .customLong("no-rollback"), help: "Leave a failed run as it is for inspection.")
        var noRollback = false

        func validate() throws {
            guard UpgradeMethod(rawValue: method) != nil else {
                throw ValidationError("unknown --method \(method); available: \(UpgradeMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard stopTimeout > 0 else { throw ValidationError("--stop-timeout must be positive") }
        }

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = LiveCommandRunner()
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            let directory = project.location.directory
            let runID = RunID.make()
            let options = PgUpgradeOptions(
                targetMajor: targetMajor, method: UpgradeMethod(rawValue: method)!, backupDirectory: backupDirectory,
                rollbackOnFailure: !noRollback, stopTimeout: stopTimeout)

            try RunGuard.refuseUnfinishedRun(projectDirectory: directory)
            let lock = dryRun ? nil : try ProjectLock.acquire(projectDirectory: directory, command: "pg-upgrade --to \(targetMajor)", runID: runID)
            defer { lock?.release() }

            let password = try? project.database().password
            let audit = try AuditBridge(projectDirectory: directory, runID: runID, command: "pg-upgrade --to \(targetMajor)" + (dryRun ? " --dry-run" : ""), secrets: [password])
            try audit.started(["project": project.name])
            let reporter = RunReporter(audit: audit.sink)
            reporter.emit("preflight: checking \(project.name) for PostgreSQL \(targetMajor)")
            let context: PgUpgradeContext
            do {
                context = try await PgUpgradePreflight(project: project, options: options, runner: runner, runID: runID, progress: { reporter.emit("preflight: \($0)") }).run()
                if options.method == .invoke { try await InvokeUpgradePreflight(context: context, runner: runner, progress: { reporter.emit("preflight: \($0)") }).run() }
            } catch {
                audit.refused(error)
                throw error
            }

            if dryRun {
                let folder = RunFolder(projectDirectory: directory, runID: runID)
                let world = PgUpgradeWorld(context: context, runner: runner, runFolder: folder)
                let plan = try PgUpgradePlanner(world: world).plan()
                print(json ? String(decoding: try plan.jsonData(), as: UTF8.self) : context.redactor.redact(plan.renderText()))
                audit.note(AuditEvent.runFinished, ["outcome": "dry-run"])
                return
            }

            let folder = try RunFolder.create(projectDirectory: directory, runID: runID)
            let world = PgUpgradeWorld(context: context, runner: runner, runFolder: folder)
            let planner = PgUpgradePlanner(world: world)
            let plan = try planner.plan()
            try folder.writePlan(plan)
            FileHandle.standardError.write(Data(context.redactor.redact(plan.renderText()).utf8))
            do {
                try Confirmation.ask("Upgrade \(context.database.service) from PostgreSQL \(context.oldMajor) to \(targetMajor)?", yes: yes)
            } catch {
                audit.refused(error)
                throw error
            }

            let interrupted = InterruptFlag()
            let observer = ChildProcessRegistry.shared.addObserver { _ in interrupted.set() }
            defer { ChildProcessRegistry.shared.removeObserver(observer) }
            let journal = try folder.createJournal()
            defer { journal.close() }
            let executor = Executor(
                runID: runID, command: plan.command, steps: try planner.steps(), journal: journal,
                registry: .pgUpgrade(runner: runner), runFolder: folder, redactor: context.redactor,
                options: ExecutorOptions(rollbackOnFailure: !noRollback, isInterrupted: { interrupted.isSet }),
                onEvent: reporter.handler)
            let outcome = await executor.run()
            try RunSummary.print(outcome: outcome, context: context, folder: folder, reporter: reporter)
        }
    }
}

/// Set once upshift receives SIGINT/SIGTERM; the executor polls it between steps.
final class InterruptFlag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}
