import Foundation
import UpshiftPostgres
import UpshiftSupport

/// A fingerprint as the run folder keeps it (private JSON), and as a line for people.
enum FingerprintFile {
    static func save(_ fingerprint: Fingerprint, to path: String) throws {
        try PrivateJSON.write(fingerprint, to: path)
    }

    static func load(_ path: String) throws -> Fingerprint {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpshiftError("missing fingerprint \(path)") }
        return try JSONDecoder().decode(Fingerprint.self, from: data)
    }

    static func describe(_ fingerprint: Fingerprint) -> String {
        let tables = fingerprint.databases.reduce(0) { $0 + $1.tables.count }
        let rows = fingerprint.databases.reduce(0) { $0 + $1.totalRows }
        return "\(fingerprint.databases.count) databases, \(tables) tables, \(rows) rows"
    }
}
