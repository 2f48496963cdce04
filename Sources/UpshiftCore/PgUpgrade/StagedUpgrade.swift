import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The pg_upgrade method's new cluster, upgraded and verified before the window, so that the downtime is
/// the dump method's prepared window (stop, rename, start, prove identity) instead of initdb, check,
/// pg_upgrade, analyze and a full fingerprint.
///
/// pg_upgrade needs a cleanly shut down old cluster, which the serving deployment's is not. So, while the
/// application still serves, after the online snapshot and fingerprint, a sub-plan run by the same
/// executor and journal (`steps`):
/// 1. `decide-staging`: is there room for a copy, can pg_basebackup copy every row, and does the snapshot
///    still stand (a copy of a cluster written since could never be used)? If not, the window upgrades in
///    place, as without staging;
/// 2. `stage-copy`: `pg_basebackup` (inside the db container, as the data owner, over the local socket)
///    copies the old cluster to `<old>.copy-<run>` in the same mount (`PrivateCopy`), and the old major, in
///    the upgrade container, recovers the copy (no listener, no archiving) and shuts it down cleanly;
/// 3. the window's own pg_upgrade steps, pointed at the copy: initdb of `<new>.staged-<run>` with the old
///    settings, `pg_upgrade --check`, `pg_upgrade --link` (the copy is upshift's, so linking costs the user
///    nothing, whatever `--mode` says), carry-config;
/// 4. `stage-verify`: the copy is deleted; a one-off server of the target image runs on the staged cluster:
///    update_extensions.sql, analyze, fingerprint compared with the online one, system identifier, clean
///    shutdown.
///
/// When the application has written since the snapshot, the copy could never be used as it is:
/// - `logical` (logical replication can follow the serving cluster, `LogicalSources`): the copy follows as a
///   standby, is promoted exactly where the run's logical slots begin (`PromoteAtSlotsStep`), upgraded by the
///   same `stage-*` steps, and then follows by logical replication (`SubscribeUpgradedCopyStep`); the window
///   is the dump method's `subscribed` one, with no pg_upgrade inside the downtime;
/// - `standby`: the copy follows the serving cluster as a standby (`StageStandbyStep`, `StandbyServer`), and
///   the new cluster is initialised beside it; the window's `standby` branch promotes and upgrades it.
///
/// The window uses it like the dump method's staged cluster (`CheckSnapshotStep`): only if nothing committed
/// since the snapshot, which also proves the copy (taken after the snapshot) shows the snapshot's state. The
/// user's cluster is never touched, so there is no point of no return for `link` or `swap`.
struct StagedUpgrade: Sendable {
    var world: PgUpgradeWorld
    /// The window's steps, pointed at the copy and the staged directory.
    var upgrade: PgUpgradeRun

    init(world: PgUpgradeWorld) throws {
        var run = try PgUpgradeRun(world: world)
        run.oldRelative = Self.copyRelativePath(world)
        run.newRelative = StagedCluster.relativePath(world)
        run.mode = .link
        self.world = world
        upgrade = run
    }

    /// `<old>.copy-<run>`, beside the serving cluster in the same mount.
    static func copyRelativePath(_ world: PgUpgradeWorld) -> String {
        world.database.dataLocation.subpath + ".copy-" + world.context.runID.rawValue
    }

    /// The serving server at its container's address, which every staging step reads (preflight found it, or
    /// the run would not stage).
    func onlineServer() throws -> ConnectionParameters {
        guard let server = world.context.onlineConnection() else {
            throw UpshiftError("no address to reach \(world.service) before the window")
        }
        return server
    }

    /// The staging sub-plan: one decision whose `stage` and `logical` branches upgrade the copy.
    func steps() throws -> [ExecutableStep] {
        // The window's pg_upgrade steps, on a copy that is cleanly shut down.
        let upgradeCopy = try [
            Self.onCopy(InitNewClusterStep(upgrade: upgrade), world),
            Self.onCopy(PgUpgradeCheckStep(upgrade: upgrade), world),
            Self.onCopy(TransferDataStep(upgrade: upgrade), world),
            Self.onCopy(CarryConfigurationStep(upgrade: upgrade), world),
        ]
        let stage = try [StageCopyStep(staging: self).executable] + upgradeCopy + [StageVerifyStep(staging: self).executable]
        let standby = try [
            StageStandbyStep(staging: self).executable,
            Self.onCopy(InitNewClusterStep(upgrade: upgrade), world),
        ]
        var branches = [ExecutableBranch("stage", when: "the mount has room for a copy and a base backup copies every row", steps: stage)]
        if Self.followsLogically(world) {
            let logical = try [StageStandbyStep(staging: self).executable, PromoteAtSlotsStep(staging: self).executable]
                + upgradeCopy + [SubscribeUpgradedCopyStep(staging: self).executable]
            branches.append(ExecutableBranch("logical", when: "the same, the application wrote since the snapshot, and logical replication can follow it: the copy is upgraded now and follows it until the window", steps: logical))
        }
        branches += [
            ExecutableBranch("standby", when: "the same, but the application wrote since the snapshot: the copy follows it as a standby until the window", steps: standby),
            ExecutableBranch("in-window", when: "it has not, wal_level or an unlogged table rule the copy out, or the application wrote and the window recreates the container", steps: []),
        ]
        return [try DecideStagingStep(staging: self).deciding(branches)]
    }

    /// Whether the plan can upgrade the copy before the window even while the application writes (the
    /// `logical` branch, then the window's `subscribed` one): the standby must survive the window (network
    /// swap), and the target must report apply errors (`pg_stat_subscription_stats`, 15+), as for the dump
    /// method's replica.
    static func followsLogically(_ world: PgUpgradeWorld) -> Bool {
        world.context.isolation?.approach == .swapNetworks && world.context.options.targetMajor >= 15
    }

    /// The upgraded copy's first start, before the window (`stage-verify`, `stage-subscribe-upgraded`): the copy
    /// is deleted first (its files live on, linked, in the staged cluster; the copy itself must never start
    /// again), then a one-off server of the target image on the staged cluster runs update_extensions.sql and
    /// analyze. Returns that running server and what the after-care did.
    func startUpgraded(_ context: StepContext) async throws -> (server: StagedServer, target: ServerTarget, afterCare: String) {
        try await StagedCluster.discard(
            relativePaths: [upgrade.oldRelative], mount: upgrade.mount, image: world.database.imageText,
            runID: world.context.runID.rawValue, runner: world.runner, progress: context.progress)
        let server = StagedServer(world: world)
        let target = try await server.start(context)
        let afterCare = try await PostUpgradeStep(upgrade: upgrade, target: target).afterCare(context)
        // Run here; the window, if it upgrades in place after all, collects its own.
        try? FileManager.default.removeItem(atPath: TransferDataStep.extensionsScript(world))
        return (server, target, afterCare)
    }

    /// A window step of the pg_upgrade method run on the private copy before the window: its own id, and the
    /// staging's undo (the staged directories deleted), since everything it changes is upshift's.
    static func onCopy(_ step: some PlanStep, _ world: PgUpgradeWorld) throws -> ExecutableStep {
        var step = try step.executable
        step.planned.id = "stage-" + step.planned.id
        step.planned.title = "Before the window, on the private copy: " + step.planned.title
        step.planned.notes = ["the user's cluster is not touched"]
        if step.planned.mutates { step.planned.compensation = try StagedClusterCompensator.spec(world: world) }
        step.planned.pointOfNoReturn = false
        return step
    }
}

/// Whether the pg_upgrade method can stage: reads the serving cluster's settings and the mount's free space.
struct DecideStagingStep: PlanStep {
    var staging: StagedUpgrade

    func planned() -> PlannedStep {
        PlannedStep(
            id: "decide-staging", title: "Choose whether to upgrade a private copy of the cluster before the window", kind: "pg.decide-staging", mutates: false,
            notes: ["room for the copy (df, du in the upgrade container), wal_level and WAL senders, no unlogged table, nothing committed since the snapshot (libpq, read-only)"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = staging.world
        let server = try staging.onlineServer()
        let databases = try await PsqlRunner(compose: world.compose, database: world.database).databases()
        let copy = PrivateCopy(world: world, upgrade: staging.upgrade)
        if let obstacle = try await copy.obstacle(server: server, databases: databases) {
            _ = await staging.upgrade.worker.remove()
            return .decided("in-window", because: "no staged upgrade (\(obstacle)): the window upgrades in place")
        }
        if let reason = try await OnlinePreparation.outdated(world) {
            guard world.context.isolation?.approach == .swapNetworks else {
                _ = await staging.upgrade.worker.remove()
                return .decided("in-window", because: "no staged upgrade (the application wrote since the online snapshot: \(reason); a standby cannot follow it through the window, which recreates the \(world.service) container): the window upgrades in place")
            }
            if StagedUpgrade.followsLogically(world) {
                switch try await Blocking.run({ () throws -> LogicalSources.Assessment in try LogicalSources.read(server, databases: databases) }) {
                case .ready(let sources) where !sources.databases.allSatisfy(\.isEmpty):
                    return .decided("logical", because: "the application wrote since the online snapshot (\(reason)): a copy is upgraded now and follows the serving cluster by logical replication until the window")
                case .obstacle(let why):
                    return .decided("standby", because: "the application wrote since the online snapshot (\(reason)), and logical replication cannot follow it (\(why)): a copy follows the serving cluster as a standby until the window, which upgrades it")
                case .ready:
                    return .decided("standby", because: "the application wrote since the online snapshot (\(reason)), and no table can be published: a copy follows the serving cluster as a standby until the window, which upgrades it")
                }
            }
            return .decided("standby", because: "the application wrote since the online snapshot (\(reason)): a copy follows the serving cluster as a standby until the window")
        }
        return .decided("stage", because: "a copy of the cluster fits beside it: upgrading the copy before the window")
    }
}

/// Copies the serving cluster and brings the copy to a clean shutdown (`PrivateCopy`).
struct StageCopyStep: PlanStep {
    var staging: StagedUpgrade

    func planned() throws -> PlannedStep {
        let world = staging.world
        let copy = PrivateCopy(world: world, upgrade: staging.upgrade)
        return PlannedStep(
            id: "stage-copy", title: "Before the window: copy the serving cluster to \(staging.upgrade.oldRelative) (pg_basebackup) and recover it with PostgreSQL \(world.context.oldMajor)",
            kind: "pg.stage-copy", commands: PlannedStep.render([copy.backupCommand(container: "<\(world.service) container>")], redactor: world.redactor),
            mutates: true, compensation: try StagedClusterCompensator.spec(world: world),
            notes: ["your cluster is never touched: the copy is upshift's, and is deleted once upgraded"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = staging.world
        let server = try staging.onlineServer()
        let copy = PrivateCopy(world: world, upgrade: staging.upgrade)
        try await copy.take(context)
        try await copy.recover(context)
        try await ClusterSettings.read(server).save(to: ClusterSettings.path(world.runFolder))
        return StepOutcome(summary: "copied to \(staging.upgrade.oldRelative), recovered and shut down cleanly")
    }
}

/// The upgraded copy, checked before the window: the copy is deleted (its files live on, linked, in the
/// staged cluster), a one-off server of the target image runs on the staged cluster for
/// update_extensions.sql and analyze, and its fingerprint must equal the snapshot's. When it differs (a write
/// after the snapshot), the staged directories are deleted and the window will upgrade in place.
struct StageVerifyStep: PlanStep {
    var staging: StagedUpgrade

    func planned() throws -> PlannedStep {
        let world = staging.world
        return PlannedStep(
            id: "stage-verify", title: "Before the window: start PostgreSQL \(world.context.options.targetMajor) on \(staging.upgrade.newRelative), update extensions, analyze, compare with the snapshot",
            kind: "pg.stage-verify", commands: PlannedStep.render([StagedServer(world: world).runCommand], redactor: world.redactor),
            mutates: true, compensation: try StagedClusterCompensator.spec(world: world),
            notes: ["a one-off server (docker compose run, no published port), shut down cleanly after; the copy is deleted first"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = staging.world
        let upgrade = staging.upgrade
        let (server, target, afterCare) = try await staging.startUpgraded(context)
        let (fingerprint, identifier) = try await server.read(target, context: context)
        let expected = try FingerprintFile.load(OnlinePreparation.fingerprintPath(world.runFolder))
        let differences = expected.diff(against: fingerprint)
        guard differences.isEmpty else {
            // The copy was taken after the snapshot: a write in between shows here. The window finds that
            // write too and upgrades in place; free the space now.
            try await StagedCluster.discard(world, progress: context.progress)
            return StepOutcome(summary: "not used: the upgraded copy differs from the snapshot (\(differences.prefix(3).joined(separator: "; "))), most likely a write after it")
        }
        try FingerprintFile.save(fingerprint, to: StagedServer.fingerprintPath(world))
        try await server.stop()
        let cluster = StagedCluster(
            relativePath: upgrade.newRelative, systemIdentifier: identifier,
            summary: "a private copy upgraded with pg_upgrade --link, \(afterCare), identical to the snapshot: \(FingerprintFile.describe(fingerprint))")
        try cluster.write(world.runFolder)
        return StepOutcome(summary: "a copy upgraded into \(cluster.relativePath) and verified")
    }
}
