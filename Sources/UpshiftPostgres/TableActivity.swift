/// What the server itself says about whether a table can have changed between two moments, without reading
/// its rows: the window fingerprints again only the tables this cannot vouch for.
///
/// A table's rows cannot have changed when, between the two readings, its write counters
/// (`n_tup_ins + n_tup_upd + n_tup_del`, which count every inserted, updated and deleted row of committed and
/// aborted transactions alike), its relation file (TRUNCATE, VACUUM FULL and rewriting ALTERs give it a new
/// one) and its columns (an added column with a default changes every row's text without touching the file)
/// are all the same. What a table's text form also depends on — enum labels, user types — is compared per
/// database. Counters that cannot be trusted (`track_counts` off, a statistics reset) make tables look
/// changed, never unchanged: every doubt costs a scan, not a verification.
public struct TableActivity: Sendable, Hashable, Codable {
    public var schema: String
    public var name: String
    public var filenode: String
    public var writes: String
    /// md5 of the columns' names, types, typmods, dropped flags and missing values, in order.
    public var columns: String

    public var qualifiedName: String { "\(schema).\(name)" }
}

/// `TableActivity` of every table of every connectable database, read at one moment.
public struct ClusterActivity: Sendable, Hashable, Codable {
    public var trackCounts: Bool
    /// Database -> md5 of its user types' names and enum labels.
    public var types: [String: String]
    /// Database -> its tables.
    public var tables: [String: [TableActivity]]

    /// Blocking: reads every database through libpq.
    public static func read(_ parameters: ConnectionParameters) throws(PostgresError) -> ClusterActivity {
        var trackCounts = false
        var types: [String: String] = [:]
        var tables: [String: [TableActivity]] = [:]
        try Fingerprinter.eachDatabase(parameters, cluster: { main throws(PostgresError) in
            trackCounts = try main.query("SHOW track_counts").single().bool("track_counts")
        }) { name, conn throws(PostgresError) in
            types[name] = try conn.query(typesSQL).single().requiredString("types")
            tables[name] = try conn.query(tablesSQL).rows.map { row throws(PostgresError) in
                TableActivity(
                    schema: try row.requiredString("nspname"), name: try row.requiredString("relname"),
                    filenode: try row.string("filenode") ?? "", writes: try row.string("writes") ?? "", columns: try row.string("columns") ?? "")
            }
        }
        return ClusterActivity(trackCounts: trackCounts, types: types, tables: tables)
    }

    /// Per database, the tables that cannot have changed since `earlier`: present at both readings with the
    /// same activity, in a database whose types did not change, with counters on at both readings.
    public func unchangedTables(since earlier: ClusterActivity) -> [String: Set<String>] {
        guard trackCounts && earlier.trackCounts else { return [:] }
        var out: [String: Set<String>] = [:]
        for (database, now) in tables {
            guard let before = earlier.tables[database], types[database] == earlier.types[database] else { continue }
            let previous = Dictionary(before.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
            out[database] = Set(now.filter { previous[$0.qualifiedName] == $0 }.map(\.qualifiedName))
        }
        return out
    }

    /// The same tables as the fingerprint (`Fingerprinter.readTables`).
    static let tablesSQL = """
        SELECT n.nspname, c.relname, pg_relation_filenode(c.oid)::text AS filenode,
               (coalesce(s.n_tup_ins, 0) + coalesce(s.n_tup_upd, 0) + coalesce(s.n_tup_del, 0))::text AS writes,
               md5(coalesce((SELECT string_agg(a.attname || ':' || a.atttypid::text || ':' || a.atttypmod::text || ':' || a.attisdropped::text || ':' || coalesce(a.attmissingval::text, ''), ',' ORDER BY a.attnum)
                             FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0), '')) AS columns
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
        WHERE \(Fingerprinter.userTablesCondition)
        ORDER BY n.nspname, c.relname
        """

    /// User types (a table's own row type and array type left out: creating a table changes no other
    /// table's rows) and every enum label.
    static let typesSQL = """
        SELECT md5(coalesce((SELECT string_agg(t.oid::text || ':' || t.typname || ':' || t.typtype::text, ',' ORDER BY t.oid)
                             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                             LEFT JOIN pg_class r ON r.oid = t.typrelid
                             LEFT JOIN pg_type el ON el.oid = t.typelem AND t.typcategory = 'A' LEFT JOIN pg_class er ON er.oid = el.typrelid
                             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
                               AND (r.oid IS NULL OR r.relkind = 'c') AND (er.oid IS NULL OR er.relkind = 'c')), '')
                   || coalesce((SELECT string_agg(e.enumtypid::text || ':' || e.enumsortorder::text || ':' || e.enumlabel, ',' ORDER BY e.enumtypid, e.enumsortorder) FROM pg_enum e), '')) AS types
        """
}
