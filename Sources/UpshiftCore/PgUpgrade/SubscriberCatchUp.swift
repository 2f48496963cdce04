import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Inside the window, with the application stopped and the old server isolated: may the logical replica
/// stand in for the old cluster? It must have confirmed every change up to the old server's WAL flush
/// position read now, and
/// - no DDL ran since its schema was copied (the catalog digests, and where they moved `pg_dump
///   --schema-only` again, compared: replication carries rows only),
/// - no table published for inserts only was updated, deleted from or truncated since (those changes were
///   not carried),
/// - no large object was created and no materialized view filled since (staging refused both).
///
/// Whatever the answer, replication then ends: the subscriptions are dropped on the replica, the slots and
/// publications on the old server, so the cluster the user keeps (moved aside) holds nothing of upshift's.
struct SubscriberCatchUp: Sendable {
    var world: PgUpgradeWorld
    /// How long the slots may confirm nothing new before the replica is given up.
    static let stallSeconds: Int64 = 20

    /// `nil` when the replica may be used, else why not (the window then dumps and restores).
    /// `old` is the isolated old server (`world.isolatedServerConnection()`).
    func settle(_ context: StepContext, old: ConnectionParameters) async throws -> String? {
        guard let record = try SubscriberRecord.load(world.runFolder) else {
            throw UpshiftError("internal: no \(SubscriberServer.path(world.runFolder))")
        }
        let subscriber = SubscriberServer(world: world)
        var problem: String?
        do {
            let replica = try await subscriber.connection(beside: old)
            // After DDL the replica may stop applying (a column it lacks): the wait gives up at its first
            // error, and the schema check below names the cause.
            problem = try await waitConfirmed(record, old: old, replica: replica, context: context)
            if problem == nil { problem = try await copiesUnfinished(record, replica: replica) }
            try await dropSubscriptions(record, replica: replica)
        } catch {
            // A stopped container says why better than the connection error it caused.
            var reason = "\(error)"
            do { try await subscriber.requireRunning() } catch let stopped { reason = "\(stopped)" }
            problem = problem ?? "the replica failed: \(world.redactor.redact(reason))"
            // Gone before its slots are dropped, so that nothing reconnects to them.
            _ = try? await world.runner.run(Command("docker", ["rm", "-f", subscriber.name], timeout: .seconds(60)))
        }
        try await ReplicationTeardown.cleanSource(
            old, runID: world.context.runID, slots: Array(record.slots.values), identifier: ReplicationTeardown.identifier(folderPath: world.runFolder.path),
            databases: record.sources.databases.map(\.name))
        // Three independent reads of the isolated old server, at once: each is a connection per database,
        // and all of it is downtime.
        let sources = record.sources
        async let contentsCheck = contentsNotReplicated(record, old: old)
        async let schemaCheck = schemaChanged(record, old: old, context: context)
        async let counters = Blocking.run { () throws -> [String: [String: String]] in try LogicalSources.insertOnlyCounters(old, sources) }
        do {
            let (contents, schema) = try await (contentsCheck, schemaCheck)
            if let contents { return contents }
            if let schema { return schema }
        } catch {
            return "the old server could not be checked for what replication does not carry: \(world.redactor.redact("\(error)"))"
        }
        if let problem { return problem }

        let now = try await counters
        for (database, counters) in now.sorted(by: { $0.key < $1.key }) {
            for (table, value) in counters.sorted(by: { $0.key < $1.key }) where record.insertOnlyCounters[database]?[table] != value {
                return "table \(table) in \(database) has no replica identity and was updated, deleted from or truncated since (only its inserts were replicated)"
            }
        }
        return nil
    }

    /// The databases whose schema may differ from the one the replica was built on, as a reason, or `nil`.
    /// Run once replication ended, so the run's own publications are gone again: the catalog digests
    /// (`CatalogVersions`, milliseconds) then say "unchanged" for a database nobody altered; only a database
    /// whose digest moved pays for `pg_dump --schema-only`, the exact comparison.
    func schemaChanged(_ record: SubscriberRecord, old: ConnectionParameters, context: StepContext) async throws -> String? {
        let databases = record.schemaDigests.keys.sorted()
        let now = try await Self.catalogDigests(old, databases: databases)
        let unsure = databases.filter { record.catalogDigests?[$0] != now[$0] }
        guard !unsure.isEmpty else {
            context.progress("schema unchanged since the replica was built: no catalog row of \(databases.joined(separator: ", ")) was written")
            return nil
        }
        context.progress("catalog rows of \(unsure.joined(separator: ", ")) were written since the replica was built: comparing the schema itself")
        let changed = try await SchemaCopy(world: world).changed(since: record.schemaDigests.filter { unsure.contains($0.key) })
        guard !changed.isEmpty else { return nil }
        return "the schema of \(changed.joined(separator: ", ")) changed since the replica was built (DDL is not replicated)"
    }

    /// Contents replication does not carry, which staging refused where they existed: a large object, or a
    /// materialized view holding rows, now was created or refreshed since, and only a dump carries it. `nil`
    /// when there is none.
    func contentsNotReplicated(_ record: SubscriberRecord, old: ConnectionParameters) async throws -> String? {
        for database in record.schemaDigests.keys.sorted() {
            let target = old.with(database: database)
            let found = try await Blocking.run { () throws -> (Int, String?) in
                let conn = try Connection(target)
                return (try conn.query("SELECT count(*) AS n FROM pg_largeobject_metadata").single().int("n"), try LogicalSources.populatedMaterializedView(conn))
            }
            if found.0 > 0 { return "\(found.0) large object(s) were created in \(database) since the replica was built (large objects are not replicated)" }
            if let view = found.1 { return "materialized view \(view) in \(database) was refreshed since the replica was built (its contents are not replicated)" }
        }
        return nil
    }

    /// `CatalogVersions` of every database at once (a connection each).
    static func catalogDigests(_ server: ConnectionParameters, databases: [String]) async throws -> [String: String] {
        try await withThrowingTaskGroup(of: (String, String).self) { group in
            for database in databases {
                let target = server.with(database: database)
                group.addTask { (database, try await Blocking.run { () throws -> String in try CatalogVersions.digest(target) }) }
            }
            var out: [String: String] = [:]
            for try await (database, digest) in group { out[database] = digest }
            return out
        }
    }

    /// Polls the run's slots until each has confirmed the old server's flush position (the application is
    /// stopped and the server isolated: nothing more can be written). `nil` when they did.
    ///
    /// Gives up as soon as the replica reports an error applying a change, or when its slots confirm nothing
    /// new for `stallSeconds`: a replica that cannot keep up must not hold the window open.
    func waitConfirmed(_ record: SubscriberRecord, old: ConnectionParameters, replica: ConnectionParameters, context: StepContext) async throws -> String? {
        let slots = Array(record.slots.values).sorted()
        guard !slots.isEmpty else { return nil }
        let list = slots.map(ReplicationTeardown.literal).joined(separator: ", ")
        let target = try await Blocking.run { () throws -> String in
            try Connection(old).query("SELECT pg_current_wal_flush_lsn()::text AS lsn").single().requiredString("lsn")
        }
        context.progress("waiting for the replica to confirm everything up to \(target)")
        let sql = """
            SELECT count(*) FILTER (WHERE confirmed_flush_lsn >= '\(target)'::pg_lsn) AS confirmed, count(*) AS present,
                   coalesce(min(confirmed_flush_lsn)::text, '') AS behind
            FROM pg_replication_slots WHERE slot_name IN (\(list))
            """
        var lastMoved = ContinuousClock.now
        var lastBehind = ""
        while true {
            let row = try await Blocking.run { () throws -> (Int, Int, String) in
                let r = try Connection(old).query(sql).single()
                return (try r.int("confirmed"), try r.int("present"), try r.string("behind") ?? "")
            }
            if row.1 != slots.count { return "\(slots.count - row.1) of the replica's slots are missing on the old server" }
            if row.0 == slots.count { return nil }
            let errors = try await SubscriberServer.errorCount(replica)
            if errors > 0 { return "the replica failed to apply \(errors) change(s) (see its log); it confirmed up to \(row.2), not \(target)" }
            if row.2 != lastBehind { lastBehind = row.2; lastMoved = .now }
            guard ContinuousClock.now - lastMoved < .seconds(Self.stallSeconds) else {
                return "the replica confirmed nothing beyond \(row.2) for \(Self.stallSeconds) s (the old server is at \(target))"
            }
            // Inside the downtime, usually one or two polls: a short pause costs a query, a long one the
            // window's time.
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Tables whose first copy has not finished (`srsubstate` other than `r`), or nil.
    func copiesUnfinished(_ record: SubscriberRecord, replica: ConnectionParameters) async throws -> String? {
        for database in record.slots.keys.sorted() {
            let target = replica.with(database: database)
            let pending = try await Blocking.run { () throws -> Int in
                try Connection(target).query("SELECT count(*) AS n FROM pg_subscription_rel WHERE srsubstate <> 'r'").single().int("n")
            }
            if pending > 0 { return "\(pending) table(s) of \(database) were not fully copied into the replica" }
        }
        return nil
    }

    /// Drops the run's subscription in every followed database of the replica, leaving the old server's slot
    /// to `ReplicationTeardown.cleanSource`.
    func dropSubscriptions(_ record: SubscriberRecord, replica: ConnectionParameters) async throws {
        let statements = ReplicationTeardown.dropSubscriptionStatements(runID: world.context.runID)
        for database in record.slots.keys.sorted() {
            let target = replica.with(database: database)
            try await Blocking.run { () throws in
                let conn = try Connection(target)
                for sql in statements { _ = try conn.execute(sql) }
            }
        }
    }
}
