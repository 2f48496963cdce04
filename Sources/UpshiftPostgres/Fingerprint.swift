/// What a cluster holds, reduced to values that must survive a major upgrade unchanged.
///
/// Taken before and after a data move; `diff(against:)` lists every difference that matters. Content is
/// compared per table by row count plus an order-independent checksum computed in SQL (see
/// `Fingerprinter`), so two clusters of different majors can be compared without reading rows into memory.
public struct Fingerprint: Sendable, Hashable, Codable {
    /// Schema version of this structure (bumped when fields change meaning).
    public var version: Int = 1
    /// `SHOW server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    public var serverVersion: String
    public var serverMajor: Int
    public var dataChecksums: Bool
    /// Login and non-login roles, without the `pg_*` predefined roles (those differ between majors).
    public var roles: [RoleFingerprint]
    /// Every connectable, non-template database, sorted by name.
    public var databases: [DatabaseFingerprint]

    public init(serverVersion: String, serverMajor: Int, dataChecksums: Bool, roles: [RoleFingerprint], databases: [DatabaseFingerprint]) {
        self.serverVersion = serverVersion
        self.serverMajor = serverMajor
        self.dataChecksums = dataChecksums
        self.roles = roles
        self.databases = databases
    }
}

/// How a role stores its password. The hash itself is never read into upshift.
public enum PasswordKind: String, Sendable, Hashable, Codable {
    case none, md5, scram
    /// A hash in a format upshift does not know.
    case other
    /// `pg_authid` was not readable (not a superuser): kind not known.
    case unknown
}

public struct RoleFingerprint: Sendable, Hashable, Codable {
    public var name: String
    public var superuser: Bool
    public var canLogin: Bool
    public var passwordKind: PasswordKind

    public init(name: String, superuser: Bool, canLogin: Bool, passwordKind: PasswordKind) {
        self.name = name
        self.superuser = superuser
        self.canLogin = canLogin
        self.passwordKind = passwordKind
    }
}

public struct DatabaseFingerprint: Sendable, Hashable, Codable {
    public var name: String
    public var encoding: String
    public var collate: String
    public var ctype: String
    public var extensions: [ExtensionFingerprint]
    public var tables: [TableFingerprint]
    public var sequences: [SequenceFingerprint]

    public init(name: String, encoding: String, collate: String, ctype: String, extensions: [ExtensionFingerprint], tables: [TableFingerprint], sequences: [SequenceFingerprint]) {
        self.name = name
        self.encoding = encoding
        self.collate = collate
        self.ctype = ctype
        self.extensions = extensions
        self.tables = tables
        self.sequences = sequences
    }

    public var totalRows: Int { tables.reduce(0) { $0 + $1.rowCount } }
}

public struct ExtensionFingerprint: Sendable, Hashable, Codable {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

public struct TableFingerprint: Sendable, Hashable, Codable {
    public var schema: String
    public var name: String
    public var rowCount: Int
    /// Sum over rows of `hashtextextended(row text, 0)` (64-bit), in decimal. Order-independent.
    public var checksum: String

    public init(schema: String, name: String, rowCount: Int, checksum: String) {
        self.schema = schema
        self.name = name
        self.rowCount = rowCount
        self.checksum = checksum
    }

    public var qualifiedName: String { "\(schema).\(name)" }
}

public struct SequenceFingerprint: Sendable, Hashable, Codable {
    public var schema: String
    public var name: String
    /// nil until the sequence has been used (`pg_sequences.last_value`).
    public var lastValue: Int?

    public init(schema: String, name: String, lastValue: Int?) {
        self.schema = schema
        self.name = name
        self.lastValue = lastValue
    }

    public var qualifiedName: String { "\(schema).\(name)" }
}

// MARK: - Diff

extension Fingerprint {
    /// Which differences `diff` reports beyond data, roles and databases (always compared).
    public struct DiffOptions: Sendable, Hashable {
        /// Server version and major: they differ by design after an upgrade. Off by default.
        public var compareServerVersion = false
        /// `data_checksums`: PG18's initdb turns checksums on by default, and an upgrade target may be
        /// initialised either way. Off by default.
        public var compareDataChecksums = false
        /// Extension versions: a newer server may ship (and a restore may create) a newer default version,
        /// and `ALTER EXTENSION ... UPDATE` after an upgrade is legitimate. Missing or extra extensions
        /// are always reported. Off by default.
        public var compareExtensionVersions = false
        /// Encoding, LC_COLLATE and LC_CTYPE of each database. On by default: a changed collation
        /// silently changes sort order and can corrupt text indexes.
        public var compareLocale = true

        public init(compareServerVersion: Bool = false, compareDataChecksums: Bool = false, compareExtensionVersions: Bool = false, compareLocale: Bool = true) {
            self.compareServerVersion = compareServerVersion
            self.compareDataChecksums = compareDataChecksums
            self.compareExtensionVersions = compareExtensionVersions
            self.compareLocale = compareLocale
        }
    }

    /// Database -> qualified name -> this fingerprint's entry, for the tables `keeping` names per database:
    /// the `known` tables of `Fingerprinter.capture`.
    public func tables(keeping: [String: Set<String>]) -> [String: [String: TableFingerprint]] {
        var out: [String: [String: TableFingerprint]] = [:]
        for database in databases {
            let keep = keeping[database.name] ?? []
            out[database.name] = Dictionary(database.tables.filter { keep.contains($0.qualifiedName) }.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
        }
        return out
    }

    /// Human-readable differences from `self` (before) to `other` (after); empty when they match.
    ///
    /// Compared: databases present, per database locale, extensions present, every table's row count and
    /// checksum, every sequence's last value, roles with their superuser/login flags and password kind.
    /// Not compared by default (see `DiffOptions`): server version, data checksums, extension versions.
    public func diff(against other: Fingerprint, options: DiffOptions = DiffOptions()) -> [String] {
        var out: [String] = []
        if options.compareServerVersion && serverVersion != other.serverVersion {
            out.append("server version: \(serverVersion) -> \(other.serverVersion)")
        }
        if options.compareDataChecksums && dataChecksums != other.dataChecksums {
            out.append("data_checksums: \(dataChecksums ? "on" : "off") -> \(other.dataChecksums ? "on" : "off")")
        }
        Self.compare(roles, other.roles, key: \.name, what: "role") { a, b in
            var d: [String] = []
            if a.superuser != b.superuser { d.append("superuser \(a.superuser) -> \(b.superuser)") }
            if a.canLogin != b.canLogin { d.append("login \(a.canLogin) -> \(b.canLogin)") }
            if a.passwordKind != b.passwordKind { d.append("password \(a.passwordKind.rawValue) -> \(b.passwordKind.rawValue)") }
            return d
        }.forEach { out.append($0) }
        Self.compare(databases, other.databases, key: \.name, what: "database") { a, b in
            a.diff(against: b, options: options)
        }.forEach { out.append($0) }
        return out
    }

    /// Missing/extra items by key, then `detail` for items present on both sides.
    static func compare<T>(_ before: [T], _ after: [T], key: (T) -> String, what: String, detail: (T, T) -> [String]) -> [String] {
        var out: [String] = []
        let old = Dictionary(before.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(after.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        for name in old.keys.sorted() {
            guard let b = new[name] else {
                out.append("\(what) \(name): missing after")
                continue
            }
            for line in detail(old[name]!, b) { out.append("\(what) \(name): \(line)") }
        }
        for name in new.keys.sorted() where old[name] == nil {
            out.append("\(what) \(name): only after")
        }
        return out
    }
}

extension DatabaseFingerprint {
    func diff(against other: DatabaseFingerprint, options: Fingerprint.DiffOptions) -> [String] {
        var out: [String] = []
        if options.compareLocale {
            if encoding != other.encoding { out.append("encoding \(encoding) -> \(other.encoding)") }
            if collate != other.collate { out.append("LC_COLLATE \(collate) -> \(other.collate)") }
            if ctype != other.ctype { out.append("LC_CTYPE \(ctype) -> \(other.ctype)") }
        }
        out += Fingerprint.compare(extensions, other.extensions, key: \.name, what: "extension") { a, b in
            options.compareExtensionVersions && a.version != b.version ? ["version \(a.version) -> \(b.version)"] : []
        }
        out += Fingerprint.compare(tables, other.tables, key: \.qualifiedName, what: "table") { a, b in
            if a.rowCount != b.rowCount { return ["rows \(a.rowCount) -> \(b.rowCount)"] }
            if a.checksum != b.checksum { return ["content differs (same \(a.rowCount) rows, checksum \(a.checksum) -> \(b.checksum))"] }
            return []
        }
        out += Fingerprint.compare(sequences, other.sequences, key: \.qualifiedName, what: "sequence") { a, b in
            a.lastValue != b.lastValue ? ["last value \(a.lastValue.map(String.init) ?? "unused") -> \(b.lastValue.map(String.init) ?? "unused")"] : []
        }
        return out
    }
}
