import Foundation
import UpshiftPostgres
import UpshiftSupport

/// InvenTree's backups run `pg_dump --exclude-table-data=django_session`: session rows are not part of
/// what a restore can reproduce, so comparisons leave that table's data out (the table itself must exist).
enum SessionData {
    static let table = "public.django_session"

    static func excluded(_ fingerprint: Fingerprint) -> Fingerprint {
        var copy = fingerprint
        for d in copy.databases.indices {
            for t in copy.databases[d].tables.indices where copy.databases[d].tables[t].qualifiedName == table {
                copy.databases[d].tables[t].rowCount = 0
                copy.databases[d].tables[t].checksum = "0"
            }
        }
        return copy
    }

    static func rows(_ fingerprint: Fingerprint) -> Int {
        fingerprint.databases.flatMap(\.tables).filter { $0.qualifiedName == table }.reduce(0) { $0 + $1.rowCount }
    }
}

/// InvenTree plugins marked active in `plugin_pluginconfig`.
enum ActivePlugins {
    static func read(_ parameters: ConnectionParameters) async throws -> [String] {
        try await Blocking.run { () throws -> [String] in
            let connection = try Connection(parameters)
            let exists = try connection.query("SELECT to_regclass('public.plugin_pluginconfig') IS NOT NULL AS e").single().bool("e")
            guard exists else { return [] }
            return try connection.query("SELECT key FROM plugin_pluginconfig WHERE active ORDER BY key").rows.compactMap { try $0.string("key") }
        }
    }

    static func activate(_ keys: [String], _ parameters: ConnectionParameters) async throws {
        _ = try await Blocking.run { () throws -> Int in
            let connection = try Connection(parameters)
            for key in keys {
                _ = try connection.query("INSERT INTO plugin_pluginconfig (key, active) VALUES ($1, true) ON CONFLICT (key) DO UPDATE SET active = true", [key])
            }
            return keys.count
        }
    }

    static func write(_ keys: [String], to path: String) throws {
        try DurableFile.atomicWrite(try JSONEncoder().encode(keys), to: path, mode: 0o600)
    }

    static func read(from path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try JSONDecoder().decode([String].self, from: data)
    }
}
