import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The old cluster's "before" fingerprint in the window, in proportion to what changed since the online
/// snapshot: tables whose write counters, relation file and columns are as they were just before the
/// snapshot (`ClusterActivity`) keep the snapshot's fingerprint; only the others are scanned again. Sequences,
/// roles, extensions and locales are read again in full (they are small). The unchanged tables' sizes are kept
/// for the new side's check (`FingerprintStep` with `reusesUnchanged`).
struct FingerprintChangedTablesStep: PlanStep {
    var world: PgUpgradeWorld

    /// Database -> table -> main-fork size on the old cluster, for the tables not scanned again.
    static func unchangedPath(_ folder: RunFolder) -> String { folder.path + "/unchanged-tables.json" }

    func planned() -> PlannedStep {
        PlannedStep(
            id: "fingerprint-old", title: "Fingerprint the tables of the PostgreSQL \(world.context.oldMajor) cluster that changed since the online snapshot",
            kind: "pg.fingerprint", mutates: false,
            notes: ["unchanged tables (same write counters, relation file and columns as just before the snapshot) keep the snapshot's fingerprint"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let old = try await Self.capture(world, context)
        return StepOutcome(summary: old.summary)
    }

    /// The old cluster's "before" fingerprint and the unchanged tables' sizes, saved in the run folder;
    /// also run by `VerifySubscriberStep`, beside the replica's own scan.
    static func capture(_ world: PgUpgradeWorld, _ context: StepContext) async throws -> (fingerprint: Fingerprint, summary: String) {
        guard let online = try OnlinePreparation.load(world.runFolder) else {
            throw UpshiftError("internal: fingerprint-old without the online preparation in \(world.runFolder.path)")
        }
        let snapshot = try FingerprintFile.load(OnlinePreparation.fingerprintPath(world.runFolder))
        let parameters = try await world.isolatedServerConnection()
        // The sizes are read while the tables are scanned: the server is isolated, nothing moves them.
        async let sizesRead = Blocking.run { () throws -> [String: [String: Int]] in try Fingerprinter.relationSizes(parameters) }
        let now = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(parameters) }
        let unchanged = online.activity.map { now.unchangedTables(since: $0) } ?? [:]
        let known = snapshot.tables(keeping: unchanged)
        let fingerprint = try await Fingerprinter.captureAsync(parameters, known: known) { db, table, position, count in
            context.report("checksum \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items))
        }
        try FingerprintFile.save(fingerprint, to: FingerprintStep.path(world.runFolder, .before))
        let sizes = try await sizesRead
        var kept: [String: [String: Int]] = [:]
        for (database, tables) in known { kept[database] = (sizes[database] ?? [:]).filter { tables[$0.key] != nil } }
        try PrivateJSON.write(kept, to: unchangedPath(world.runFolder))
        let total = fingerprint.databases.reduce(0) { $0 + $1.tables.count }
        let reused = kept.values.reduce(0) { $0 + $1.count }
        return (fingerprint, "\(total - reused) of \(total) tables changed since the snapshot and fingerprinted; \(reused) keep the snapshot's fingerprint: \(FingerprintFile.describe(fingerprint))")
    }
}
