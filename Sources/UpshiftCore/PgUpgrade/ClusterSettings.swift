import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The old cluster's initdb-time settings that `pg_upgrade` insists the new cluster shares: data checksums
/// (18's initdb turns them on by default, and pg_upgrade then stops with "old cluster does not use data
/// checksums but the new one does"), encoding, locale and provider, and the bootstrap superuser (pg_upgrade
/// must run as the install user of both clusters: "role postgres does not exist").
public struct ClusterSettings: Sendable, Hashable, Codable {
    public var dataChecksums: Bool
    public var encoding: String
    public var collate: String
    public var ctype: String
    /// `c` (libc), `i` (ICU) or `b` (builtin, 17+).
    public var localeProvider: String
    /// ICU or builtin locale of template0, when the provider is not libc.
    public var providerLocale: String?
    /// The role with OID 10, created by initdb.
    public var bootstrapSuperuser: String
    /// Tablespaces besides pg_default/pg_global: their files live outside the data mount.
    public var extraTablespaces: [String]

    public init(dataChecksums: Bool, encoding: String, collate: String, ctype: String, localeProvider: String, providerLocale: String?, bootstrapSuperuser: String, extraTablespaces: [String] = []) {
        self.dataChecksums = dataChecksums
        self.encoding = encoding
        self.collate = collate
        self.ctype = ctype
        self.localeProvider = localeProvider
        self.providerLocale = providerLocale
        self.bootstrapSuperuser = bootstrapSuperuser
        self.extraTablespaces = extraTablespaces
    }

    /// Reads the settings from a running server (any major from 15).
    public static func read(_ parameters: ConnectionParameters) async throws -> ClusterSettings {
        try await Blocking.run { () throws -> ClusterSettings in
            let conn = try Connection(parameters)
            let major = conn.serverMajor
            let checksums = try conn.query("SHOW data_checksums").single().string("data_checksums") == "on"
            let encoding = try conn.query("SHOW server_encoding").single().string("server_encoding") ?? "UTF8"
            let localeColumn = major >= 17 ? "datlocale" : "daticulocale"
            let row = try conn.query("SELECT datcollate, datctype, datlocprovider::text AS provider, \(localeColumn) AS locale FROM pg_database WHERE datname = 'template0'").single()
            let superuser = try conn.query("SELECT rolname FROM pg_roles WHERE oid = 10").single().string("rolname") ?? "postgres"
            let spaces = try conn.query("SELECT spcname FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY 1").rows.compactMap { try $0.string("spcname") }
            return ClusterSettings(
                dataChecksums: checksums, encoding: encoding, collate: try row.string("datcollate") ?? "C", ctype: try row.string("datctype") ?? "C",
                localeProvider: try row.string("provider") ?? "c", providerLocale: try row.string("locale"), bootstrapSuperuser: superuser,
                extraTablespaces: spaces)
        }
    }

    /// `initdb` arguments that reproduce these settings for `newMajor`.
    /// - Throws: when a value could not be passed safely (it comes from the old catalog, and the rebuild
    ///   path hands it to the postgres image's entrypoint, which `eval`s POSTGRES_INITDB_ARGS).
    public func initdbArguments(newMajor: Int) throws -> [String] {
        for value in [encoding, collate, ctype, providerLocale ?? "", bootstrapSuperuser] where !Self.isPlain(value) {
            throw UpshiftError("the old cluster's setting \"\(value)\" contains characters upshift will not pass to initdb", hint: "use --method dump for this cluster")
        }
        var args = ["--username=\(bootstrapSuperuser)", "--encoding=\(encoding)", "--lc-collate=\(collate)", "--lc-ctype=\(ctype)"]
        switch localeProvider {
        case "i": args += ["--locale-provider=icu", "--icu-locale=\(providerLocale ?? "")"]
        case "b": args += ["--locale-provider=builtin", "--builtin-locale=\(providerLocale ?? "C")"]
        default: break
        }
        if dataChecksums {
            args.append("--data-checksums")
        } else if newMajor >= 18 {
            args.append("--no-data-checksums")
        }
        return args
    }

    /// One line for plans and audit records.
    public var summary: String {
        var text = "checksums \(dataChecksums ? "on" : "off"), encoding \(encoding), collate \(collate), ctype \(ctype)"
        if localeProvider != "c" { text += ", provider \(localeProvider == "i" ? "icu" : "builtin") \(providerLocale ?? "")" }
        return text + ", install user \(bootstrapSuperuser)"
    }

    static func isPlain(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-@".unicodeScalars.contains($0) }
    }

    static func path(_ folder: RunFolder) -> String { folder.path + "/cluster-settings.json" }

    func save(to path: String) throws {
        try PrivateJSON.write(self, to: path)
    }

    static func load(_ path: String) throws -> ClusterSettings {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpshiftError("missing \(path): the old cluster's settings were not read") }
        return try JSONDecoder().decode(ClusterSettings.self, from: data)
    }
}
