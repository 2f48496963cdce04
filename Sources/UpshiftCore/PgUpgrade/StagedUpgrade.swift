import Foundation
import UpshiftPostgres

/// The pg_upgrade method's new cluster, upgraded and verified before the window, so that the downtime is
/// the staged window of the dump method (stop, rename, start, prove identity) instead of initdb, check,
/// pg_upgrade, analyze and a full fingerprint.
///
/// pg_upgrade needs a cleanly shut down old cluster, which the serving deployment's is not. So, while the
/// application still serves, after the online snapshot and fingerprint:
/// 1. `pg_basebackup` (inside the db container, as the data owner, over the local socket) copies the old
///    cluster to `<old>.copy-<run>` in the same mount (`PrivateCopy`);
/// 2. the old major, in the upgrade container, recovers the copy (no listener, no archiving) and shuts it
///    down cleanly;
/// 3. the window's own pg_upgrade steps run on it: initdb of `<new>.staged-<run>` with the old settings,
///    `pg_upgrade --check`, `pg_upgrade --link` (the copy is upshift's, so linking costs the user nothing,
///    whatever `--mode` says), carry-config; then the copy is deleted;
/// 4. a one-off server of the target image runs on the staged cluster: update_extensions.sql, analyze,
///    fingerprint compared with the online one, system identifier, clean shutdown.
///
/// The window uses it like the dump method's staged cluster: only if nothing committed since the snapshot,
/// which also proves the copy (taken after the snapshot) shows the snapshot's state. The user's cluster is
/// never touched, so there is no point of no return for `link` or `swap`. Where staging cannot work (not
/// enough free space for the copy, `wal_level=minimal`, no replication login) it is skipped and the window
/// upgrades in place, as without it.
struct StagedUpgrade: Sendable {
    var world: PgUpgradeWorld
    /// The window's steps, pointed at the copy and the staged directory.
    var upgrade: PgUpgradeRun

    static let doneBefore = "done before the window, on a private copy of the old cluster"

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

    enum Outcome {
        case staged(StagedCluster)
        /// Why not; nothing of the staging is left.
        case skipped(String)
    }

    /// - Parameters:
    ///   - expected: the online fingerprint.
    ///   - server: the serving old cluster, at its container address.
    ///   - databases: its databases, as the online step listed them.
    func build(expected: Fingerprint, server: ConnectionParameters, databases: [String], context: StepContext) async throws -> Outcome {
        let copy = PrivateCopy(world: world, upgrade: upgrade)
        if let obstacle = try await copy.obstacle(server: server, databases: databases) {
            _ = await upgrade.worker.remove()
            return .skipped(obstacle)
        }
        do {
            try await copy.take(context)
        } catch let error as UpshiftError {
            try await StagedCluster.discard(world, progress: context.progress)
            return .skipped("\(error.message)")
        }
        try await copy.recover(context)
        let settings = try await ClusterSettings.read(server)
        try settings.save(to: ClusterSettings.path(world.runFolder))

        context.progress("pg_upgrade of the copy into \(upgrade.newRelative)")
        _ = try await InitNewClusterStep(upgrade: upgrade).run(context)
        _ = try await PgUpgradeCheckStep(upgrade: upgrade).run(context)
        _ = try await TransferDataStep(upgrade: upgrade).run(context)
        _ = try await CarryConfigurationStep(upgrade: upgrade).run(context)
        // Linked into the staged cluster, whose files survive; the copy itself must never start again.
        try await StagedCluster.discard(
            relativePaths: [upgrade.oldRelative], mount: upgrade.mount, image: world.database.imageText,
            runID: world.context.runID.rawValue, runner: world.runner, progress: context.progress)

        let server = StagedServer(world: world)
        let target = try await server.start(context)
        let afterCare = try await PostUpgradeStep(upgrade: upgrade, target: target).afterCare(context)
        // Run here; the window, if it upgrades in place after all, collects its own.
        try? FileManager.default.removeItem(atPath: TransferDataStep.extensionsScript(world))
        let (fingerprint, identifier) = try await server.read(target, context: context)
        let differences = expected.diff(against: fingerprint)
        guard differences.isEmpty else {
            // The copy was taken after the snapshot: a write in between shows here. The window would find
            // that write too and upgrade in place; say so now and free the space.
            try await StagedCluster.discard(world, progress: context.progress)
            return .skipped("the upgraded copy differs from the snapshot (\(differences.prefix(3).joined(separator: "; "))), most likely a write after it")
        }
        try FingerprintStep.save(fingerprint, to: StagedServer.fingerprintPath(world))
        try await server.stop()
        return .staged(StagedCluster(
            relativePath: upgrade.newRelative, systemIdentifier: identifier,
            summary: "a private copy upgraded with pg_upgrade --link, \(afterCare), identical to the snapshot: \(FingerprintStep.describe(fingerprint))"))
    }
}
