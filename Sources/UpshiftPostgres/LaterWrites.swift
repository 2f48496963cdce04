/// Evidence that a table's rows were written after a moment: the post-window recheck must not call a write
/// made by another client after the window (the new server is reachable again before its snapshot can be
/// taken) a difference between the old cluster and the new one.
///
/// Rows inserted or updated after the moment carry a transaction id at or after the moment's horizon in
/// `xmin`; a deletion leaves no visible row, so callers also look at the table's write counters.
public enum LaterWrites {
    /// The first transaction id not yet assigned now, as the 32-bit id `xmin` stores (text, digits only).
    public static func horizon(_ conn: Connection) throws(PostgresError) -> String {
        try conn.query("SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::bigint::text AS horizon").single().requiredString("horizon")
    }

    /// Of `tables` (qualified `schema.name`, as the fingerprint names them), those holding a row, visible in
    /// the exported snapshot `snapshot`, that a transaction at or after `horizon` inserted or updated.
    /// `age()` orders ids across wraparound; a frozen `xmin` has the largest age and never counts.
    public static func tablesWithNewerRows(_ parameters: ConnectionParameters, snapshot: String, horizon: String, tables: [(schema: String, name: String)]) throws(PostgresError) -> Set<String> {
        guard !tables.isEmpty else { return [] }
        guard !horizon.isEmpty, horizon.allSatisfy(\.isNumber) else { throw PostgresError(.queryFailed, "invalid transaction id horizon") }
        let conn = try Connection(parameters)
        try ExportedSnapshot.importInto(conn, id: snapshot)
        defer { _ = try? conn.execute("COMMIT") }
        var out: Set<String> = []
        for table in tables {
            let relation = quoteIdentifier(table.schema) + "." + quoteIdentifier(table.name)
            let row = try conn.query("SELECT EXISTS (SELECT 1 FROM \(relation) WHERE age(xmin) <= age('\(horizon)'::xid)) AS newer").single()
            if try row.bool("newer") { out.insert(table.schema + "." + table.name) }
        }
        return out
    }
}
