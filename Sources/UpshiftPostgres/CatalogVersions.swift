/// A cheap answer to "did any DDL run in this database since then?": a digest of where every live row of the
/// database's own system catalogs sits and which transaction wrote it (`ctid`, `xmin`, and `oid` where the
/// catalog has one).
///
/// DDL of every kind — create, alter, drop, grant, comment, owner — inserts, updates or deletes catalog rows,
/// and each of those moves a row, adds one with a new `xmin`, or removes one: the digest changes. What changes
/// catalogs without DDL is left out or does not move rows: planner statistics (`pg_statistic*`, written by
/// ANALYZE), large object data, and the in-place updates VACUUM makes to `relpages`, `reltuples` and the
/// frozen-xid horizons. Shared catalogs (roles, databases) are not per database and are not read, except the
/// database's own rows of `pg_subscription`, which its schema dump includes. Read as a superuser.
///
/// The digest can only say "unchanged" or "maybe changed": a VACUUM FULL of a catalog, a TRUNCATE or a
/// temporary table still alive change it without changing the schema, so callers confirm a changed digest
/// with the exact comparison (`pg_dump --schema-only`) before acting on it.
public enum CatalogVersions {
    /// Catalogs whose rows change without any DDL, or that hold data rather than definitions.
    public static let excluded: Set<String> = ["pg_statistic", "pg_statistic_ext_data", "pg_largeobject"]

    /// The digest of the database `parameters` name, read in one statement (one snapshot).
    public static func digest(_ parameters: ConnectionParameters) throws(PostgresError) -> String {
        let conn = try Connection(parameters)
        let catalogs = try conn.query("""
            SELECT c.relname AS name,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'oid' AND a.attnum > 0) AS has_oid
            FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' AND NOT c.relisshared
            ORDER BY c.relname
            """).rows
        var parts: [String] = []
        for row in catalogs {
            let name = try row.requiredString("name")
            guard !excluded.contains(name) else { continue }
            let version = try row.bool("has_oid") ? "ctid::text || ' ' || xmin::text || ' ' || oid::text" : "ctid::text || ' ' || xmin::text"
            parts.append("SELECT \(quoteLiteral(name)) AS catalog, count(*) AS n, md5(coalesce(string_agg(\(version), ',' ORDER BY ctid), '')) AS h FROM pg_catalog.\(quoteIdentifier(name))")
        }
        guard !parts.isEmpty else { throw PostgresError(.queryFailed, "no system catalog found in \(parameters.database)") }
        // The one shared catalog a database's schema dump includes rows of: its subscriptions.
        parts.append("""
            SELECT 'pg_subscription' AS catalog, count(*) AS n, md5(coalesce(string_agg(ctid::text || ' ' || xmin::text || ' ' || oid::text, ',' ORDER BY ctid), '')) AS h
            FROM pg_catalog.pg_subscription WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
            """)
        let sql = "SELECT md5(string_agg(catalog || ':' || n || ':' || h, ',' ORDER BY catalog)) AS digest FROM (" + parts.joined(separator: " UNION ALL ") + ") AS s"
        return try conn.query(sql).single().requiredString("digest")
    }
}
