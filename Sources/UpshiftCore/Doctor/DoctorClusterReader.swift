import Foundation

/// Reads `DoctorClusterFacts` from the running database with read-only SQL through `psql` inside its
/// container (`docker compose exec`), the same route pg-upgrade's preflight uses.
struct DoctorClusterReader: Sendable {
    var psql: PsqlRunner

    func read() async throws -> DoctorClusterFacts {
        let global = try await psql.lines("""
            SELECT 'v|' || current_setting('server_version_num')
            UNION ALL SELECT 'k|' || current_setting('data_checksums')
            UNION ALL SELECT 'b|' || rolname FROM pg_roles WHERE oid = 10
            UNION ALL SELECT 'm|' || rolname FROM pg_authid WHERE rolpassword LIKE 'md5%'
            UNION ALL SELECT 'p|' || current_setting('shared_preload_libraries')
            UNION ALL SELECT 's|' || coalesce(sum(pg_database_size(oid)), 0)::text FROM pg_database WHERE datallowconn
            UNION ALL SELECT 'w|' || current_setting('wal_level')
            """, database: "postgres")
        var versionNum = 0, checksums = false, bootstrap = "", md5: [String] = [], preload: [String] = [], total: Int64 = 0
        var walLevel: String?
        for line in global {
            let (key, value) = Self.split(line)
            switch key {
            case "v": versionNum = Int(value) ?? 0
            case "k": checksums = value == "on"
            case "b": bootstrap = value
            case "m": md5.append(value)
            case "p": preload = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            case "s": total = Int64(value) ?? 0
            case "w": walLevel = value
            default: break
            }
        }
        let major = versionNum / 10000
        let modern = major >= 15
        let dbSQL = modern
            ? "SELECT datname || '|' || pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype || '|' || datlocprovider::text || '|' || datistemplate::text || '|' || datallowconn::text || '|' || coalesce(datcollversion, '') || '|' || coalesce(pg_database_collation_actual_version(oid), '') FROM pg_database ORDER BY datname"
            : "SELECT datname || '|' || pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype || '|' || '' || '|' || datistemplate::text || '|' || datallowconn::text || '||' FROM pg_database ORDER BY datname"
        var databases: [DoctorClusterFacts.Database] = []
        var connectable: [String] = []
        var mismatches: [String] = []
        for line in try await psql.lines(dbSQL, database: "postgres") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 9 else { continue }
            databases.append(DoctorClusterFacts.Database(name: f[0], encoding: f[1], collate: f[2], ctype: f[3], provider: f[4], isTemplate: f[5] == "true"))
            if f[6] == "true" { connectable.append(f[0]) }
            if !f[7].isEmpty, !f[8].isEmpty, f[7] != f[8] {
                mismatches.append("\(f[0]): default collation recorded \(f[7]), now \(f[8])")
            }
        }
        var extensions = Set<String>()
        for db in connectable {
            for line in try await psql.lines("""
                SELECT 'e|' || extname FROM pg_extension WHERE extname <> 'plpgsql'
                UNION ALL SELECT 'c|' || collname || '|' || collversion || '|' || coalesce(pg_collation_actual_version(oid), 'none')
                  FROM pg_collation WHERE collversion IS NOT NULL AND collversion IS DISTINCT FROM pg_collation_actual_version(oid)
                """, database: db) {
                let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                if f.first == "e", f.count >= 2 { extensions.insert(f[1]) }
                if f.first == "c", f.count >= 4 { mismatches.append("\(db): collation \"\(f[1])\" recorded \(f[2]), now \(f[3])") }
            }
        }
        return DoctorClusterFacts(
            serverMajor: major, dataChecksums: checksums, bootstrapRole: bootstrap, md5Roles: md5.sorted(), sharedPreloadLibraries: preload,
            totalBytes: total, databases: databases, extensions: extensions.sorted(), collationMismatches: mismatches, walLevel: walLevel)
    }

    static func split(_ line: String) -> (String, String) {
        guard let bar = line.firstIndex(of: "|") else { return (line, "") }
        return (String(line[..<bar]), String(line[line.index(after: bar)...]))
    }
}
