import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The window's one decision: with the application stopped and the server isolated, does the work done
/// before the window still stand for the database? It picks the rest of the plan:
/// - `prepared`: nothing committed since the online snapshot, and a new cluster was prepared and verified
///   before the window (`StagedCluster`): the window renames it into place and proves it is that cluster;
/// - `snapshot`: nothing committed, no prepared cluster: the online dump and fingerprint stand, and the
///   window restores or upgrades from them;
/// - `standby` (pg_upgrade method): the application wrote after the snapshot, and a standby of the old
///   cluster followed it (`StageStandbyStep`): it is promoted once the old server stopped and upgraded;
/// - `changed`: a transaction committed or a sequence moved: the prepared cluster (if any) is deleted and
///   the window fingerprints, dumps and restores or upgrades as if nothing had been prepared.
///
/// Only this step reads what the preparation left in the run folder to choose; the steps of each branch do
/// what their branch says (`WindowPath`).
struct CheckSnapshotStep: PlanStep {
    var world: PgUpgradeWorld
    /// Whether the plan has a `prepared` branch (this run stages a new cluster before the window).
    var stages: Bool

    static let id = "check-snapshot"

    func planned() -> PlannedStep {
        PlannedStep(
            id: Self.id, title: "Check whether anything changed since the online snapshot, and choose how the window goes",
            kind: "pg.check-snapshot", mutates: false,
            notes: [
                "reads the commit status of every transaction the snapshot cannot see, and every sequence (libpq, the server isolated)",
                "nothing committed: the fingerprint taken before the window is the old cluster's",
                "with a replica (stage-subscriber): waits until it confirmed the old server's last change, ends replication (its subscriptions, slots and publications are dropped) and compares the schema",
            ])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        guard var online = try OnlinePreparation.load(world.runFolder) else {
            throw UpshiftError("internal: \(Self.id) without the online preparation in \(world.runFolder.path)")
        }
        let parameters = try await world.isolatedServerConnection()
        context.progress("checking whether anything changed since the online snapshot")
        let earlier = try FingerprintFile.load(OnlinePreparation.fingerprintPath(world.runFolder))
        // With a replica (it exists only when the application wrote since the snapshot), it catches up and
        // replication ends; the verdict, which then only names what was written, is read beside that (all of
        // it is downtime) and may count the teardown's own transactions.
        let follows = stages && SubscriberServer.exists(world.runFolder)
        let preparation = online
        async let verdictRead = OnlinePreparation.check(preparation, online: earlier, parameters: parameters)
        let problem = follows ? try await SubscriberCatchUp(world: world).settle(context, old: parameters) : nil
        let verdict = try await verdictRead
        online.verdict = verdict
        try online.write(world.runFolder)
        if follows {
            if let problem {
                return .decided(WindowPath.changed.rawValue, because: "changed since the online snapshot (\(verdict.reason)); the replica that followed it cannot be used (\(problem)): the window does the work")
            }
            return .decided(WindowPath.subscribed.rawValue, because: "changed since the online snapshot (\(verdict.reason)); the replica confirmed every change up to the old server's last one, its schema is unchanged: it is verified and takes the old cluster's place")
        }
        if stages && StandbyServer.exists(world.runFolder) {
            return .decided(WindowPath.standby.rawValue, because: "changed since the online snapshot (\(verdict.reason)); a standby followed the old cluster: it is promoted and upgraded once the old server has stopped")
        }
        guard verdict.isCurrent else {
            return .decided(WindowPath.changed.rawValue, because: "changed since the online snapshot (\(verdict.reason)): the window does the work")
        }
        try FingerprintFile.save(earlier, to: FingerprintStep.path(world.runFolder, .before))
        let stands = "unchanged since the online snapshot: \(verdict.reason); its fingerprint stands (\(FingerprintFile.describe(earlier)))"
        if stages, let staged = try StagedCluster.load(world.runFolder) {
            return .decided(WindowPath.prepared.rawValue, because: stands + "; the cluster prepared before the window is used (\(staged.relativePath))")
        }
        return .decided(WindowPath.snapshot.rawValue, because: stands + (stages ? "; no cluster was prepared before the window" : ""))
    }
}

/// Which way the window goes, as `CheckSnapshotStep` decides; the planners build each branch's steps for
/// one of these, so a step never has to find out which branch it is in.
enum WindowPath: String, Sendable, CaseIterable {
    /// No online preparation, or it is outdated: everything happens in the window.
    case changed
    /// The online dump and fingerprint stand; the window restores or upgrades from them.
    case snapshot
    /// The cluster prepared before the window takes the old one's place.
    case prepared
    /// The application wrote after the snapshot, and a standby followed the old cluster: it is promoted once
    /// the old server stopped, upgraded, and takes the old one's place (pg_upgrade method).
    case standby
    /// The application wrote after the snapshot, and a new-major replica followed the old cluster by logical
    /// replication: caught up, verified and renamed into place (the dump method's replica, or the pg_upgrade
    /// method's copy upgraded before the window).
    case subscribed

    /// The condition, for the plan reader.
    var when: String {
        switch self {
        case .changed: return "a transaction committed or a sequence moved since the snapshot"
        case .snapshot: return "nothing committed since the snapshot, and no cluster was prepared"
        case .prepared: return "nothing committed since the snapshot, and the cluster prepared before the window is ready"
        case .standby: return "a standby of the old cluster followed it since before the window"
        case .subscribed: return "a new-major replica followed the old cluster by logical replication, caught up, with the same schema"
        }
    }
}
