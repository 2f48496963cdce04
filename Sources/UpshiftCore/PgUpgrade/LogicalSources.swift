import Foundation
import UpshiftPostgres
import UpshiftSupport

/// What logical replication would carry from the serving cluster to the dump method's new cluster, or why it
/// cannot, read from the server before anything is created (`read`).
///
/// Checked, not assumed:
/// - `wal_level` is `logical` already: upshift never changes it (that needs a restart, the user's choice;
///   `doctor` says so);
/// - free replication slots and WAL senders for one subscription per database and its table copies;
/// - no unlogged table (never replicated), no large object (not replicated), no partitioned table;
/// - each table has a replica identity (a primary key, `FULL`, or an index). A table without one cannot
///   publish updates or deletes: publishing them would make the application's own UPDATE fail. Such tables
///   are published for inserts only (`insertOnly`); the window uses the replica only if their update and
///   delete counters did not move since (`SubscriberCatchUp`).
///
/// Extension member tables (PostGIS's `spatial_ref_sys`) are not published: the new cluster's `CREATE
/// EXTENSION` fills them. Whatever differs there shows in the comparison before the window.
struct LogicalSources: Sendable, Hashable, Codable {
    struct Table: Sendable, Hashable, Codable {
        var schema: String
        var name: String
        var qualifiedName: String { "\(schema).\(name)" }
        var sql: String { quoteIdentifier(schema) + "." + quoteIdentifier(name) }
    }

    struct Database: Sendable, Hashable, Codable {
        var name: String
        /// Published for every change.
        var replicated: [Table]
        /// Without a replica identity: published for inserts only.
        var insertOnly: [Table]
        var isEmpty: Bool { replicated.isEmpty && insertOnly.isEmpty }
    }

    var databases: [Database]

    enum Assessment: Sendable {
        case ready(LogicalSources)
        case obstacle(String)
    }

    /// Blocking: reads the serving cluster (read-only).
    static func read(_ server: ConnectionParameters, databases: [String]) throws -> Assessment {
        let main = try Connection(server)
        let level = try main.query("SELECT current_setting('wal_level') AS level").single().requiredString("level")
        guard level == "logical" else {
            return .obstacle("wal_level is \(level), not logical (setting it needs a restart of your server: `upshift doctor` says how)")
        }
        var found: [Database] = []
        for name in databases {
            let conn = try Connection(server.with(database: name))
            let rows = try conn.query(tablesSQL).rows
            var database = Database(name: name, replicated: [], insertOnly: [])
            for row in rows {
                let table = Table(schema: try row.requiredString("nspname"), name: try row.requiredString("relname"))
                switch try row.requiredString("kind") {
                case "unlogged": return .obstacle("table \(table.qualifiedName) in \(name) is unlogged, which logical replication does not carry")
                case "partitioned": return .obstacle("table \(table.qualifiedName) in \(name) is partitioned")
                case "member": continue
                case "identity": database.replicated.append(table)
                default: database.insertOnly.append(table)
                }
            }
            if try conn.query("SELECT count(*) AS n FROM pg_largeobject_metadata").single().int("n") > 0 {
                return .obstacle("\(name) holds large objects, which logical replication does not carry")
            }
            if let view = try populatedMaterializedView(conn) {
                return .obstacle("materialized view \(view) in \(name) has contents, which logical replication does not carry (the replica's would stay empty)")
            }
            found.append(database)
        }
        let subscriptions = found.filter { !$0.isEmpty }.count
        let room = try main.query("""
            SELECT current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots)::int AS slots,
                   current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication)::int AS senders
            """).single()
        // One slot and sender per subscription, and up to two more while its tables are copied.
        let needed = subscriptions * (1 + SubscriberServer.syncWorkers)
        let slots = try room.int("slots"), senders = try room.int("senders")
        guard slots >= needed, senders >= needed else {
            return .obstacle("\(slots) free replication slot(s) and \(senders) free WAL sender(s); following \(subscriptions) database(s) needs \(needed) of each")
        }
        return .ready(LogicalSources(databases: found))
    }

    /// The first materialized view holding rows (`relispopulated`), as `schema.name`, or nil. Its schema is
    /// copied `WITH NO DATA` and replication never fills it, so the replica would answer "has not been
    /// populated" where the old cluster answers rows.
    static func populatedMaterializedView(_ conn: Connection) throws -> String? {
        try conn.query("""
            SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'm' AND c.relispopulated ORDER BY 1 LIMIT 1
            """).rows.first?.requiredString("name")
    }

    /// Every user table, and what logical replication can do with it.
    static let tablesSQL = """
        SELECT n.nspname, c.relname,
               CASE WHEN c.relpersistence = 'u' THEN 'unlogged'
                    WHEN c.relkind = 'p' OR c.relispartition THEN 'partitioned'
                    WHEN EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') THEN 'member'
                    WHEN c.relreplident IN ('f', 'i') OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)) THEN 'identity'
                    ELSE 'none' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        ORDER BY n.nspname, c.relname
        """

    /// Update and delete counters of the insert-only tables, per database (`schema.name` -> "filenode:count").
    static func insertOnlyCounters(_ server: ConnectionParameters, _ sources: LogicalSources) throws -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for database in sources.databases where !database.insertOnly.isEmpty {
            let conn = try Connection(server.with(database: database.name))
            var counters: [String: String] = [:]
            for table in database.insertOnly {
                let row = try conn.query("""
                    SELECT coalesce(pg_relation_filenode(c.oid)::text, '') || ':' || (coalesce(s.n_tup_upd, 0) + coalesce(s.n_tup_del, 0))::text AS counters
                    FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.oid = $1::regclass
                    """, [table.sql]).single()
                counters[table.qualifiedName] = try row.requiredString("counters")
            }
            out[database.name] = counters
        }
        return out
    }
}
