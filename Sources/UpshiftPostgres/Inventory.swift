/// Facts a preflight check needs before a major upgrade, read through libpq.
///
/// Everything here answers a "will the upgrade work / what must the user know" question: size (disk space
/// for the dump or copy), extensions (must exist in the new image), collation version mismatches (indexes
/// on text may need REINDEX), md5 password hashes (PG18 deprecates md5 and warns on use).
public struct Inventory: Sendable, Hashable, Codable {
    public var serverVersion: String
    public var serverMajor: Int
    public var dataChecksums: Bool
    /// Sum of `pg_database_size` over all databases (templates included: they are copied too).
    public var totalDatabaseBytes: Int
    public var databases: [DatabaseInventory]
    /// Roles whose password is stored as an md5 hash.
    public var md5Roles: [String]
    public var collationMismatches: [CollationMismatch]

    public init(serverVersion: String, serverMajor: Int, dataChecksums: Bool, totalDatabaseBytes: Int, databases: [DatabaseInventory], md5Roles: [String], collationMismatches: [CollationMismatch]) {
        self.serverVersion = serverVersion
        self.serverMajor = serverMajor
        self.dataChecksums = dataChecksums
        self.totalDatabaseBytes = totalDatabaseBytes
        self.databases = databases
        self.md5Roles = md5Roles
        self.collationMismatches = collationMismatches
    }

    /// Every extension installed in any connectable database, as `name version`, sorted and unique.
    public var installedExtensions: [ExtensionFingerprint] {
        Array(Set(databases.flatMap(\.extensions))).sorted { ($0.name, $0.version) < ($1.name, $1.version) }
    }
}

public struct DatabaseInventory: Sendable, Hashable, Codable {
    public var name: String
    public var bytes: Int
    public var encoding: String
    public var collate: String
    public var ctype: String
    /// `c` libc, `i` ICU, `b` builtin (17+).
    public var localeProvider: String
    public var allowsConnections: Bool
    public var isTemplate: Bool
    /// Empty when connections are not allowed (template0).
    public var extensions: [ExtensionFingerprint]

    public init(name: String, bytes: Int, encoding: String, collate: String, ctype: String, localeProvider: String, allowsConnections: Bool, isTemplate: Bool, extensions: [ExtensionFingerprint]) {
        self.name = name
        self.bytes = bytes
        self.encoding = encoding
        self.collate = collate
        self.ctype = ctype
        self.localeProvider = localeProvider
        self.allowsConnections = allowsConnections
        self.isTemplate = isTemplate
        self.extensions = extensions
    }
}

/// A collation whose recorded version differs from what the C library / ICU provides now.
public struct CollationMismatch: Sendable, Hashable, Codable, CustomStringConvertible {
    public var database: String
    /// nil for the database's default collation (`pg_database.datcollversion`).
    public var collation: String?
    public var recordedVersion: String
    public var actualVersion: String

    public init(database: String, collation: String?, recordedVersion: String, actualVersion: String) {
        self.database = database
        self.collation = collation
        self.recordedVersion = recordedVersion
        self.actualVersion = actualVersion
    }

    public var description: String {
        "\(database): \(collation.map { "collation \"\($0)\"" } ?? "database default collation") recorded version \(recordedVersion), now \(actualVersion)"
    }
}

extension Inventory {
    /// Blocking. Connects to `parameters.database`, then to each connectable database.
    public static func capture(_ parameters: ConnectionParameters) throws(PostgresError) -> Inventory {
        let main = try Connection(parameters)
        let version = try main.serverVersion()
        let checksums = try main.query("SHOW data_checksums").single().bool("data_checksums")
        let dbRows = try main.query("""
            SELECT datname, pg_database_size(oid)::text AS bytes, pg_encoding_to_char(encoding) AS encoding,
                   datcollate, datctype, datlocprovider::text AS provider, datallowconn, datistemplate,
                   datcollversion, pg_database_collation_actual_version(oid) AS actual
            FROM pg_database ORDER BY datname
            """).rows
        var databases: [DatabaseInventory] = []
        var mismatches: [CollationMismatch] = []
        for row in dbRows {
            let name = try row.requiredString("datname")
            let allows = try row.bool("datallowconn")
            if let recorded = try row.string("datcollversion"), let actual = try row.string("actual"), recorded != actual {
                mismatches.append(CollationMismatch(database: name, collation: nil, recordedVersion: recorded, actualVersion: actual))
            }
            var extensions: [ExtensionFingerprint] = []
            if allows {
                let conn = name == parameters.database ? main : try Connection(parameters.with(database: name))
                extensions = try Fingerprinter.readExtensions(conn)
                mismatches += try collationMismatches(conn, database: name)
            }
            databases.append(DatabaseInventory(
                name: name,
                bytes: try row.int("bytes"),
                encoding: try row.requiredString("encoding"),
                collate: try row.requiredString("datcollate"),
                ctype: try row.requiredString("datctype"),
                localeProvider: try row.requiredString("provider"),
                allowsConnections: allows,
                isTemplate: try row.bool("datistemplate"),
                extensions: extensions
            ))
        }
        let md5: [String]
        do {
            md5 = try main.query("SELECT rolname FROM pg_authid WHERE rolpassword LIKE 'md5%' ORDER BY rolname").rows.compactMap { $0["rolname"] }
        } catch where error.sqlState == "42501" {
            md5 = []
        }
        return Inventory(
            serverVersion: version,
            serverMajor: main.serverMajor,
            dataChecksums: checksums,
            totalDatabaseBytes: databases.reduce(0) { $0 + $1.bytes },
            databases: databases,
            md5Roles: md5,
            collationMismatches: mismatches
        )
    }

    /// Runs `capture` on its own thread.
    public static func captureAsync(_ parameters: ConnectionParameters) async throws -> Inventory {
        try await Blocking.run { () throws -> Inventory in try capture(parameters) }
    }

    static func collationMismatches(_ conn: Connection, database: String) throws(PostgresError) -> [CollationMismatch] {
        try conn.query("""
            SELECT collname, collversion, pg_collation_actual_version(oid) AS actual FROM pg_collation
            WHERE collversion IS NOT NULL AND collversion IS DISTINCT FROM pg_collation_actual_version(oid)
            ORDER BY collname
            """).rows.map { row throws(PostgresError) in
            CollationMismatch(database: database, collation: try row.requiredString("collname"), recordedVersion: try row.requiredString("collversion"), actualVersion: try row.string("actual") ?? "none")
        }
    }
}
