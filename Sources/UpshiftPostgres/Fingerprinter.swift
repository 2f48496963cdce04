/// Computes a `Fingerprint` of a whole cluster through libpq.
///
/// Connects once to `parameters.database` for cluster-wide facts (databases, roles, checksums), then once
/// per database. Each table is read by one `SELECT count(*), sum(...)` that the server streams through a
/// sequential scan: memory stays constant whatever the table size.
public enum Fingerprinter {
    /// Progress callback, before each table is scanned: the database, the table, its position (from 1) and
    /// the number of tables in that database.
    public typealias Progress = @Sendable (_ database: String, _ table: String, _ position: Int, _ count: Int) -> Void

    /// Blocking. Use `captureAsync` from async code.
    ///
    /// `snapshots` maps database names to exported snapshot ids (`ExportedSnapshot`): each such database is
    /// read inside that snapshot, so the fingerprint describes exactly what a `pg_dump --snapshot` of it
    /// holds. When given, every database must have one: a database without one would be read at another
    /// instant.
    ///
    /// `known` maps database -> qualified table name -> a fingerprint that still stands (the table cannot
    /// have changed since it was taken, `ClusterActivity`): such tables are not scanned again.
    public static func capture(_ parameters: ConnectionParameters, snapshots: [String: String] = [:], known: [String: [String: TableFingerprint]] = [:], progress: Progress? = nil) throws(PostgresError) -> Fingerprint {
        let main = try Connection(parameters)
        let version = try main.serverVersion()
        let checksums = try main.query("SHOW data_checksums").single().bool("data_checksums")
        let roles = try readRoles(main)
        let dbRows = try main.query("""
            SELECT datname, pg_encoding_to_char(encoding) AS encoding, datcollate, datctype
            FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname
            """).rows
        var databases: [DatabaseFingerprint] = []
        for row in dbRows {
            let name = try row.requiredString("datname")
            let conn = name == parameters.database ? main : try Connection(parameters.with(database: name))
            if !snapshots.isEmpty {
                guard let id = snapshots[name] else {
                    throw PostgresError(.queryFailed, "database \(name) appeared after its snapshot was taken")
                }
                try ExportedSnapshot.importInto(conn, id: id)
            }
            defer { if !snapshots.isEmpty { _ = try? conn.execute("COMMIT") } }
            databases.append(DatabaseFingerprint(
                name: name,
                encoding: try row.requiredString("encoding"),
                collate: try row.requiredString("datcollate"),
                ctype: try row.requiredString("datctype"),
                extensions: try readExtensions(conn),
                tables: try readTables(conn, database: name, known: known[name] ?? [:], progress: progress),
                sequences: try readSequences(conn)
            ))
        }
        return Fingerprint(serverVersion: version, serverMajor: main.serverMajor, dataChecksums: checksums, roles: roles, databases: databases)
    }

    /// Runs `capture` on its own thread.
    public static func captureAsync(_ parameters: ConnectionParameters, snapshots: [String: String] = [:], known: [String: [String: TableFingerprint]] = [:], progress: Progress? = nil) async throws -> Fingerprint {
        try await Blocking.run { () throws -> Fingerprint in try capture(parameters, snapshots: snapshots, known: known, progress: progress) }
    }

    /// Database -> qualified table name -> size of its main fork in bytes, for the same tables as the
    /// fingerprint: a cheap check that a table's files arrived whole where its rows are not read again.
    public static func relationSizes(_ parameters: ConnectionParameters) throws(PostgresError) -> [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        try eachDatabase(parameters) { name, conn throws(PostgresError) in
            var sizes: [String: Int] = [:]
            for table in try conn.query(
                "SELECT n.nspname || '.' || c.relname AS name, pg_relation_size(c.oid) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + userTablesCondition
            ).rows {
                sizes[try table.requiredString("name")] = try table.int("size")
            }
            out[name] = sizes
        }
        return out
    }

    /// Every connectable database's sequences, read now. Sequences advance outside transactions, so a
    /// snapshot cannot vouch for them: comparing these with a fingerprint's is how a caller checks them.
    public static func sequences(_ parameters: ConnectionParameters) throws(PostgresError) -> [String: [SequenceFingerprint]] {
        var out: [String: [SequenceFingerprint]] = [:]
        try eachDatabase(parameters) { name, conn throws(PostgresError) in out[name] = try readSequences(conn) }
        return out
    }

    /// Calls `body` with every connectable database's name and a connection to it (the one to
    /// `parameters.database` is reused for that database); `cluster` first, with that connection, for
    /// cluster-wide facts.
    static func eachDatabase(
        _ parameters: ConnectionParameters, cluster: (Connection) throws(PostgresError) -> Void = { _ in },
        _ body: (String, Connection) throws(PostgresError) -> Void
    ) throws(PostgresError) {
        let main = try Connection(parameters)
        try cluster(main)
        for name in try databaseNames(main) {
            try body(name, name == parameters.database ? main : try Connection(parameters.with(database: name)))
        }
    }

    /// The databases a fingerprint covers: every connectable one but the templates, by name.
    public static func databaseNames(_ conn: Connection) throws(PostgresError) -> [String] {
        var names: [String] = []
        for row in try conn.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname").rows {
            names.append(try row.requiredString("datname"))
        }
        return names
    }

    /// The tables a fingerprint covers (`pg_class c` joined to `pg_namespace n`): ordinary tables and
    /// partitions outside the system, toast and temporary schemas.
    static let userTablesCondition = """
        c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        """

    /// Roles with their password *kind*. `pg_authid` needs superuser; without it the kind is `unknown`.
    static func readRoles(_ conn: Connection) throws(PostgresError) -> [RoleFingerprint] {
        let kindSQL = """
            SELECT rolname, rolsuper, rolcanlogin,
                   CASE WHEN rolpassword IS NULL THEN 'none'
                        WHEN rolpassword LIKE 'md5%' THEN 'md5'
                        WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram'
                        ELSE 'other' END AS kind
            FROM pg_authid WHERE rolname NOT LIKE 'pg\\_%' ORDER BY rolname
            """
        let rows: [Row]
        do {
            rows = try conn.query(kindSQL).rows
        } catch where error.sqlState == "42501" {
            rows = try conn.query("SELECT rolname, rolsuper, rolcanlogin, 'unknown' AS kind FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY rolname").rows
        }
        return try rows.map { row throws(PostgresError) in
            RoleFingerprint(
                name: try row.requiredString("rolname"),
                superuser: try row.bool("rolsuper"),
                canLogin: try row.bool("rolcanlogin"),
                passwordKind: PasswordKind(rawValue: try row.requiredString("kind")) ?? .other
            )
        }
    }

    static func readExtensions(_ conn: Connection) throws(PostgresError) -> [ExtensionFingerprint] {
        try conn.query("SELECT extname, extversion FROM pg_extension ORDER BY extname").rows.map { row throws(PostgresError) in
            ExtensionFingerprint(name: try row.requiredString("extname"), version: try row.requiredString("extversion"))
        }
    }

    /// User tables (ordinary tables and partitions, each row counted once; partitioned parents, views and
    /// foreign tables skipped) outside the system schemas.
    static func readTables(_ conn: Connection, database: String, known: [String: TableFingerprint] = [:], progress: Progress?) throws(PostgresError) -> [TableFingerprint] {
        let tables = try conn.query("""
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE \(userTablesCondition)
            ORDER BY n.nspname, c.relname
            """).rows
        var out: [TableFingerprint] = []
        for (index, row) in tables.enumerated() {
            let schema = try row.requiredString("nspname")
            let name = try row.requiredString("relname")
            if let standing = known["\(schema).\(name)"] {
                out.append(standing)
                continue
            }
            progress?(database, "\(schema).\(name)", index + 1, tables.count)
            let result = try conn.query(checksumSQL(schema: schema, table: name)).single()
            out.append(TableFingerprint(schema: schema, name: name, rowCount: try result.int("n"), checksum: try result.requiredString("sum")))
        }
        return out
    }

    /// The per-table query: row count and the sum of each row's 64-bit `hashtextextended` of its text form,
    /// in numeric (no overflow), order-independent. Row text output is pinned by the session settings
    /// `Connection` sets.
    ///
    /// Why not md5: on 2 M pgbench rows the md5 form took 6.3 s, this one 2.0 s (both with the server's
    /// parallel workers), and the fingerprint runs twice inside the downtime window. Why it can be
    /// compared across majors: hash partitioning routes rows by these functions, and pg_upgrade keeps hash
    /// partitions valid, so PostgreSQL does not change them; 15.18, 16.2 and 18.6 return the same values
    /// (checked on the test stack, ASCII, UTF-8 and 10 kB inputs).
    public static func checksumSQL(schema: String, table: String) -> String {
        "SELECT count(*) AS n, coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS sum FROM \(quoteIdentifier(schema)).\(quoteIdentifier(table)) t"
    }

    /// Every sequence of the connection's database with its last value (nil when never used): public for
    /// reading back on the connection that just set them.
    public static func readSequences(_ conn: Connection) throws(PostgresError) -> [SequenceFingerprint] {
        try conn.query("SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY schemaname, sequencename").rows.map { row throws(PostgresError) in
            SequenceFingerprint(schema: try row.requiredString("schemaname"), name: try row.requiredString("sequencename"), lastValue: try row.optionalInt("last_value"))
        }
    }
}

/// `"name"` with embedded quotes doubled: safe for any identifier.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `'text'` with embedded quotes doubled (standard_conforming_strings is on in every supported server).
public func quoteLiteral(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}

import Foundation
