import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The plan of `pg-upgrade --method pg_upgrade`: the dump method's window and move-aside, then the new
/// major's `pg_upgrade` on one mount holding both clusters instead of dump and restore, so the downtime
/// of `link`, `clone` and `swap` hardly grows with the data.
///
/// `link` and `swap` can leave the old cluster unusable, so for them a verified dump (taken with the OLD
/// image's tools, so the old major can read it back) comes first, the moment of no return is written to the
/// audit log, and the undo rebuilds the old cluster from that dump (`RebuildFromDumpCompensator`).
/// `copy` and `clone` never touch the old files: undo is the same rename as the dump method's.
public struct PgUpgradeMethodSteps: Sendable {
    public var world: PgUpgradeWorld
    public var environment: [String: String]

    public init(world: PgUpgradeWorld, environment: [String: String]) {
        self.world = world
        self.environment = environment
    }

    /// The window of the pg_upgrade method, for the branch it runs in (`WindowPath`).
    func window(_ path: WindowPath) throws -> [ExecutableStep] {
        let upgrade = try PgUpgradeRun(world: world)
        let source: DumpClusterStep.Source = path == .changed ? .window : .snapshot
        let dump = world.context.options.mode.destroysOldCluster ? [try DumpClusterStep(world: world, source: source).executable] : []
        if path == .standby {
            // A standby followed the old cluster: proven current, promoted and upgraded; the user's cluster is
            // only renamed aside, so there is no dump and no point of no return.
            let staged = try StagedUpgrade(world: world).upgrade
            return try [
                StopDatabaseStep(world: world).executable,
                PromoteStandbyStep(upgrade: staged).executable,
                UpgradeStandbyCopyStep(upgrade: staged).executable,
                CarryConfigurationStep(upgrade: staged).executable,
                DeleteCopyStep(upgrade: staged).executable,
                MoveDataAsideStep(world: world, placesPrepared: true).executable,
                SwitchImageStep(world: world, environment: environment).executable,
                StartUpgradedDatabaseStep(upgrade: upgrade, onPrepared: true).executable,
                PostUpgradeStep(upgrade: upgrade).executable,
                FingerprintStep(world: world, reusesUnchanged: true).executable,
            ]
        }
        if path == .subscribed {
            // Upgraded before the window and kept current by logical replication (`StagedUpgrade`'s `logical`
            // branch): the dump method's window for its replica, with no pg_upgrade and no dump inside.
            return try PgUpgradePlanner.replicaWindow(
                world, environment: environment,
                start: StartUpgradedDatabaseStep(upgrade: upgrade, onPrepared: true, finalForm: StartNewDatabaseStep.startsInFinalForm(world, on: path)).executable)
        }
        if path == .prepared {
            // Upgraded and verified before the window on a private copy: rename it into place and start it.
            return try dump + [
                StopDatabaseStep(world: world).executable,
                MoveDataAsideStep(world: world, placesPrepared: true).executable,
                SwitchImageStep(world: world, environment: environment).executable,
                StartUpgradedDatabaseStep(upgrade: upgrade, onPrepared: true, finalForm: StartNewDatabaseStep.startsInFinalForm(world, on: path)).executable,
                ProvePreparedClusterStep(world: world).executable,
            ]
        }
        return try [ReadClusterSettingsStep(world: world).executable] + dump + [
            StopDatabaseStep(world: world).executable,
            MoveDataAsideStep(world: world, warmUp: upgrade.worker).executable,
            InitNewClusterStep(upgrade: upgrade).executable,
            PgUpgradeCheckStep(upgrade: upgrade).executable,
            TransferDataStep(upgrade: upgrade).executable,
            CarryConfigurationStep(upgrade: upgrade).executable,
            SwitchImageStep(world: world, environment: environment).executable,
            StartUpgradedDatabaseStep(upgrade: upgrade).executable,
            PostUpgradeStep(upgrade: upgrade).executable,
            FingerprintStep(world: world).executable,
        ]
    }
}

/// What the pg_upgrade steps share: the world, the upgrade image, its one container (`UpgradeWorker`), and
/// the paths of both clusters as that container sees them.
///
/// The paths and the mode are the window's (the user's clusters, `--mode`) unless the run is the staged
/// upgrade (`StagedUpgrade`), which runs the same steps on upshift's private copy before the window.
struct PgUpgradeRun: Sendable {
    var world: PgUpgradeWorld
    var tool: UpgradeTool
    var worker: UpgradeWorker
    /// The clusters, relative to the mount root.
    var oldRelative: String
    var newRelative: String
    var mode: TransferMode

    init(world: PgUpgradeWorld, tool: UpgradeTool, worker: UpgradeWorker) {
        self.world = world
        self.tool = tool
        self.worker = worker
        oldRelative = world.context.placement.oldRelativePath
        newRelative = world.context.placement.newRelativePath
        mode = world.context.options.mode
    }

    /// The run for the window: the configured upgrade image, one worker.
    init(world: PgUpgradeWorld) throws {
        guard let tool = world.context.upgradeTool else { throw UpshiftError("internal: method pg_upgrade without an upgrade image") }
        self.init(world: world, tool: tool, worker: UpgradeWorker(tool: tool, mount: world.context.placement.mount, runner: world.runner))
    }

    var mount: DataLocation { world.context.placement.mount }
    var oldPath: String { DataDirectoryOperations.containerPath(oldRelative) }
    var newPath: String { DataDirectoryOperations.containerPath(newRelative) }

    /// The pg_upgrade argv (without `--check`), for plan and run alike.
    ///
    /// Always one job: pg_upgrade 18.6 with `--jobs 2` failed on the test stack while "Restoring database
    /// schemas" (the `postgres` database is dropped and recreated by one worker while another connects to
    /// it: "database "postgres" does not exist ... It seems to have just been dropped"). Its jobs only
    /// parallelise across databases and tablespaces, which a compose deployment has one or two of.
    func pgUpgradeArguments(superuser: String) -> [String] {
        [
            "--old-bindir", tool.binOld, "--new-bindir", tool.binNew, "--old-datadir", oldPath, "--new-datadir", newPath,
            "--username", superuser, "--socketdir", "/var/run/postgresql", "--\(mode.rawValue)",
        ]
    }

    var environment: [String: String] { world.database.passwordEnvironment }

    func settings() throws -> ClusterSettings {
        try ClusterSettings.load(ClusterSettings.path(world.runFolder))
    }

    /// The argv of `run`, for plans.
    func command(_ executable: String, _ arguments: [String], workdir: String? = nil, asRoot: Bool = false, stdin: Bool = false) -> Command {
        worker.command(executable, arguments, workdir: workdir, environment: environment, asRoot: asRoot, stdin: stdin)
    }

    /// Runs a binary of the upgrade image in the worker (started on first use) and fails with its output's
    /// tail.
    @discardableResult
    func run(_ tool: String, _ arguments: [String], what: String, workdir: String? = nil, asRoot: Bool = false, stdin: Data? = nil) async throws -> CommandResult {
        let result = try await output(tool, arguments, workdir: workdir, asRoot: asRoot, stdin: stdin)
        guard result.termination.isSuccess else {
            let output = (result.stdoutText + "\n" + result.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)
            throw UpshiftError("\(what) failed (\(result.termination)):\n" + world.redactor.redact(String(output.suffix(1500))))
        }
        return result
    }

    /// Runs a binary of the upgrade image in the worker and returns whatever it did.
    func output(_ tool: String, _ arguments: [String], workdir: String? = nil, asRoot: Bool = false, stdin: Data? = nil) async throws -> CommandResult {
        try await worker.start()
        var command = command(tool, arguments, workdir: workdir, asRoot: asRoot, stdin: stdin != nil)
        command.standardInput = stdin
        return try await world.runner.run(command)
    }
}
