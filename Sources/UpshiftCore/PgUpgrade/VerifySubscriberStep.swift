import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The `subscribed` branch's verification, on the replica before it takes the old cluster's place: the old
/// cluster's sequences are set on it (logical replication does not carry them), then it is compared with
/// the old cluster's "before" fingerprint in proportion to the change — tables replication did not write to
/// since the replica's own fingerprint keep that fingerprint, the others are scanned — and shut down
/// cleanly with the old server (`StopDatabaseStep` with `withReplica`). Its fingerprint and system identifier become the staged cluster's, which the
/// `prepared` steps rename into place and prove.
struct VerifySubscriberStep: PlanStep {
    var world: PgUpgradeWorld
    /// The new server will start in its final form (`StartNewDatabaseStep.finalForm`): the full recheck's
    /// reference point is read here, while nothing else can reach the cluster (`FullRecheck.saveWindowEnd`).
    var savesWindowEnd = false

    func planned() -> PlannedStep {
        PlannedStep(
            id: "verify-replica",
            title: "Set the old cluster's sequence values on the replica and compare it with the old cluster (the tables written since its fingerprint are scanned)",
            kind: "pg.verify-replica", mutates: true, compensation: nil,
            notes: ["the replica is upshift's own cluster; the undo deletes it with the staged directory"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let before = try FingerprintFile.load(FingerprintStep.path(world.runFolder, .before))
        guard let record = try SubscriberRecord.load(world.runFolder) else {
            throw UpshiftError("internal: verify-replica without \(SubscriberServer.path(world.runFolder))")
        }
        let subscriber = SubscriberServer(world: world)
        let replica = try await subscriber.connection(beside: try await world.isolatedServerConnection())
        let sequences = try await Self.setSequences(before, on: replica)
        let now = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(replica) }
        let known = try FingerprintFile.load(SubscriberServer.fingerprintPath(world.runFolder)).tables(keeping: now.unchangedTables(since: record.activity))
        let fingerprint = try await Fingerprinter.captureAsync(replica, known: known) { db, table, position, count in
            context.report("checksum (replica) \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items))
        }
        let differences = before.diff(against: fingerprint)
        guard differences.isEmpty else {
            throw UpshiftError("verification failed: the replica differs from the old cluster:\n  " + differences.prefix(20).joined(separator: "\n  "))
        }
        let identifier = try await StagedCluster.systemIdentifier(replica)
        try FingerprintFile.save(fingerprint, to: StagedServer.fingerprintPath(world))
        let total = fingerprint.databases.reduce(0) { $0 + $1.tables.count }
        let reused = known.values.reduce(0) { $0 + $1.count }
        let cluster = StagedCluster(
            relativePath: subscriber.relativePath, systemIdentifier: identifier,
            summary: "a replica kept current by logical replication, identical to the old cluster in the window (\(total - reused) of \(total) tables scanned): \(FingerprintFile.describe(fingerprint))")
        try cluster.write(world.runFolder)
        if savesWindowEnd {
            // `now` stands: since it was read, only the fingerprint ran, which writes nothing.
            do { try await FullRecheck.saveWindowEnd(world, replica: replica, activity: now) } catch {
                context.progress("no full recheck after the window: \(world.redactor.redact("\(error)"))")
            }
        }
        return StepOutcome(summary: "identical: \(total - reused) of \(total) tables scanned, \(reused) unchanged on the replica since its fingerprint; \(sequences) sequence value(s) set")
    }

    /// `SELECT setval(...)` for every sequence of `database` that has a value (one never used has none): what
    /// pg_dump would carry. Shared with the standby, which replays values up to 32 ahead.
    static func setvalStatements(_ database: DatabaseFingerprint) -> [String] {
        database.sequences.compactMap { sequence -> String? in
            guard let value = sequence.lastValue else { return nil }
            let name = ReplicationTeardown.literal(quoteIdentifier(sequence.schema) + "." + quoteIdentifier(sequence.name))
            return "SELECT setval(\(name)::regclass, \(value), true)"
        }
    }

    /// `setval` of every sequence with a value on the old cluster; returns how many.
    static func setSequences(_ old: Fingerprint, on replica: ConnectionParameters) async throws -> Int {
        var count = 0
        for database in old.databases {
            let statements = setvalStatements(database)
            guard !statements.isEmpty else { continue }
            let target = replica.with(database: database.name)
            try await Blocking.run { () throws in
                let conn = try Connection(target)
                for sql in statements { _ = try conn.execute(sql) }
            }
            count += statements.count
        }
        return count
    }
}
