import Foundation

/// A read-only transaction that holds one instant of a database open, so that `pg_dump --snapshot` and the
/// fingerprint read exactly the same data while the application goes on writing. The snapshot lives as long
/// as this object has not been released.
///
/// `@unchecked Sendable`: after `init` the connection is touched only by `release()` (under a lock) and
/// `deinit`, so the holder can be kept across the awaits of the dumps it serves.
public final class ExportedSnapshot: @unchecked Sendable {
    private var connection: Connection?
    private let lock = NSLock()
    /// The id `pg_dump --snapshot` and `SET TRANSACTION SNAPSHOT` take, e.g. `00000003-0000001B-1`.
    public let id: String
    /// Which transactions the snapshot sees, `xmin:xmax:xip,...` (`pg_current_snapshot()` text).
    public let visibility: String

    /// Opens a REPEATABLE READ READ ONLY transaction and exports its snapshot. Blocking.
    public init(_ parameters: ConnectionParameters) throws(PostgresError) {
        let conn = try Connection(parameters)
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        let function = conn.serverMajor >= 13 ? "pg_current_snapshot()" : "txid_current_snapshot()"
        let row = try conn.query("SELECT pg_export_snapshot() AS id, \(function)::text AS visibility").single()
        id = try row.requiredString("id")
        visibility = try row.requiredString("visibility")
        guard Self.isValidID(id) else { throw PostgresError(.queryFailed, "unexpected snapshot id from the server") }
        connection = conn
    }

    /// Ends the transaction (the snapshot can no longer be imported) and closes the connection.
    public func release() {
        lock.lock()
        defer { lock.unlock() }
        if let connection { _ = try? connection.execute("COMMIT") }
        connection = nil
    }

    deinit { release() }

    /// One snapshot per database, exported one after the other, keyed by database; when one fails, those
    /// already exported are released. Blocking.
    public static func exportEach(_ parameters: ConnectionParameters, databases: [String]) throws(PostgresError) -> [(database: String, snapshot: ExportedSnapshot)] {
        var out: [(database: String, snapshot: ExportedSnapshot)] = []
        do {
            for name in databases { out.append((name, try ExportedSnapshot(parameters.with(database: name)))) }
        } catch {
            out.forEach { $0.snapshot.release() }
            throw error
        }
        return out
    }

    /// Snapshot ids are hex groups and dashes; anything else is refused before it reaches SQL or argv.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && id.allSatisfy { $0.isHexDigit || $0 == "-" }
    }

    /// Imports `id` into a new REPEATABLE READ READ ONLY transaction on `connection`: its reads then see
    /// exactly what the exporting transaction sees. `SET TRANSACTION SNAPSHOT` takes no parameters, hence
    /// the format check.
    public static func importInto(_ connection: Connection, id: String) throws(PostgresError) {
        guard isValidID(id) else { throw PostgresError(.queryFailed, "invalid snapshot id") }
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '\(id)'")
    }
}

/// Transactions committed since a snapshot: the proof that a dump and a fingerprint taken from that
/// snapshot still describe the database. Every write — rows, DDL, roles, large objects, a new database —
/// needs a transaction id, so "no transaction that the snapshot cannot see has committed" means nothing
/// the dump reads has changed. Sequences advance without one and are compared separately by the caller.
public struct CommitsSinceSnapshot: Sendable, Hashable, Codable {
    /// Transaction ids examined: those from the snapshot's xmin to the server's next id that the snapshot
    /// cannot see.
    public var examined: Int64
    /// Of those, committed: each one may have changed what the dump holds.
    public var committed: Int64
    /// Neither committed nor aborted (still running, prepared, or too old to know): treated as changes.
    public var unresolved: Int64

    public init(examined: Int64, committed: Int64, unresolved: Int64) {
        self.examined = examined
        self.committed = committed
        self.unresolved = unresolved
    }

    /// Whether the snapshot still shows the whole database.
    public var isCurrent: Bool { committed == 0 && unresolved == 0 }

    /// Most transaction ids examined one by one; beyond that the snapshot counts as outdated (so many
    /// transactions since means the database was written to anyway).
    public static let limit: Int64 = 1_000_000

    /// Reads the commit status of every transaction id the snapshot `visibility` cannot see, up to the
    /// latest completed one, and counts the transactions still running or prepared. Returns `nil` when
    /// there are more than `limit` ids to read. Blocking.
    public static func read(_ connection: Connection, visibility: String) throws(PostgresError) -> CommitsSinceSnapshot? {
        let modern = connection.serverMajor >= 13
        let snapshotType = modern ? "pg_snapshot" : "txid_snapshot"
        let xmin = modern ? "pg_snapshot_xmin" : "txid_snapshot_xmin"
        let xmax = modern ? "pg_snapshot_xmax" : "txid_snapshot_xmax"
        let current = modern ? "pg_current_snapshot()" : "txid_current_snapshot()"
        let span = try connection.query(
            "SELECT \(xmin)($1::\(snapshotType))::text::bigint AS lo, \(xmax)(\(current))::text::bigint AS hi",
            [visibility]).single()
        let lo = Int64(try span.requiredString("lo")) ?? 0
        let hi = Int64(try span.requiredString("hi")) ?? 0
        guard hi - lo <= limit else { return nil }
        let status = modern ? "pg_xact_status(g::text::xid8)" : "txid_status(g)"
        let visible = modern ? "pg_visible_in_snapshot(g::text::xid8, $1::pg_snapshot)" : "txid_visible_in_snapshot(g, $1::txid_snapshot)"
        // A snapshot's xmax is the latest *completed* id + 1: transactions still running (or prepared) can lie
        // beyond it. They may yet commit anything, so each counts as unresolved.
        let row = try connection.query("""
            SELECT count(*)::text AS examined,
                   count(*) FILTER (WHERE st = 'committed')::text AS committed,
                   (count(*) FILTER (WHERE st IS DISTINCT FROM 'committed' AND st IS DISTINCT FROM 'aborted')
                    + (SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid())
                    + (SELECT count(*) FROM pg_prepared_xacts))::text AS unresolved
            FROM (SELECT \(status) AS st FROM generate_series($2::bigint, $3::bigint - 1) g WHERE NOT \(visible)) s
            """, [visibility, String(lo), String(hi)]).single()
        return CommitsSinceSnapshot(
            examined: Int64(try row.requiredString("examined")) ?? 0,
            committed: Int64(try row.requiredString("committed")) ?? 0,
            unresolved: Int64(try row.requiredString("unresolved")) ?? 0)
    }
}
