import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The `subscribed` branch's verification, on the replica before it takes the old cluster's place, in
/// proportion to the change on both sides: the old cluster's "before" fingerprint (tables changed since the
/// snapshot scanned, `FingerprintChangedTablesStep.capture`) and the replica's (tables replication wrote to
/// since its own fingerprint scanned) are taken at once. The old cluster's sequences are then set on the
/// replica (logical replication does not carry them) and the two compared. The replica is shut down cleanly
/// with the old server (`StopDatabaseStep` with `withReplica`); its fingerprint and system identifier become
/// the staged cluster's, which the `prepared` steps rename into place and prove.
struct VerifySubscriberStep: PlanStep {
    var world: PgUpgradeWorld
    /// The new server will start in its final form (`StartNewDatabaseStep.finalForm`): the full recheck's
    /// reference point is read here, while nothing else can reach the cluster (`FullRecheck.saveWindowEnd`).
    var savesWindowEnd = false

    func planned() -> PlannedStep {
        PlannedStep(
            id: "verify-replica",
            title: "Fingerprint the tables of the PostgreSQL \(world.context.oldMajor) cluster and of the replica written since their fingerprints, at once; set the old cluster's sequence values on the replica and compare the two",
            kind: "pg.verify-replica", mutates: true, compensation: nil,
            notes: [
                "old cluster: unchanged tables (same write counters, relation file and columns as just before the snapshot) keep the snapshot's fingerprint",
                "replica: tables replication did not write to since its fingerprint keep that fingerprint",
                "the replica is upshift's own cluster; the undo deletes it with the staged directory",
            ])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        guard let record = try SubscriberRecord.load(world.runFolder) else {
            throw UpshiftError("internal: verify-replica without \(SubscriberServer.path(world.runFolder))")
        }
        let subscriber = SubscriberServer(world: world)
        let replica = try await subscriber.connection(beside: try await world.isolatedServerConnection())
        // Two servers, each scanned on its own connections: the old cluster's side and the replica's run at
        // once, and only the comparison waits for both. All of it is downtime.
        async let oldSide = FingerprintChangedTablesStep.capture(world, context)
        let now = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(replica) }
        let known = try FingerprintFile.load(SubscriberServer.fingerprintPath(world.runFolder)).tables(keeping: now.unchangedTables(since: record.activity))
        var fingerprint = try await Fingerprinter.captureAsync(replica, known: known) { db, table, position, count in
            context.report("checksum (replica) \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items))
        }
        let (before, oldSummary) = try await oldSide
        // Logical replication does not carry sequences: the old cluster's values are set, then read back
        // into the replica's fingerprint, which the tables' scan read before.
        let (sequences, setValues) = try await Self.setSequences(before, on: replica)
        for index in fingerprint.databases.indices {
            if let values = setValues[fingerprint.databases[index].name] { fingerprint.databases[index].sequences = values }
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
            // `now` stands: since it was read, the fingerprint wrote nothing and setval moves sequences, not
            // tables; the horizon is read after the setval calls (each takes a transaction id).
            do { try await FullRecheck.saveWindowEnd(world, replica: replica, activity: now) } catch {
                context.progress("no full recheck after the window: \(world.redactor.redact("\(error)"))")
            }
        }
        return StepOutcome(summary: "identical: replica: \(total - reused) of \(total) tables scanned, \(reused) unchanged since its fingerprint, \(sequences) sequence value(s) set; old cluster: \(oldSummary)")
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

    /// `setval` of every sequence with a value on the old cluster; returns how many, and each such
    /// database's sequences as the replica has them afterwards (read on the same connection).
    static func setSequences(_ old: Fingerprint, on replica: ConnectionParameters) async throws -> (count: Int, values: [String: [SequenceFingerprint]]) {
        var count = 0
        var values: [String: [SequenceFingerprint]] = [:]
        for database in old.databases {
            let statements = setvalStatements(database)
            guard !statements.isEmpty else { continue }
            let target = replica.with(database: database.name)
            values[database.name] = try await Blocking.run { () throws -> [SequenceFingerprint] in
                let conn = try Connection(target)
                for sql in statements { _ = try conn.execute(sql) }
                return try Fingerprinter.readSequences(conn)
            }
            count += statements.count
        }
        return (count, values)
    }
}
