import Foundation
import UpshiftCompose
import UpshiftSupport

/// What the running server says, read through `psql` inside the database container (read-only SQL).
public struct DoctorClusterFacts: Sendable, Hashable, Codable {
    public struct Database: Sendable, Hashable, Codable {
        public var name: String
        public var encoding: String
        public var collate: String
        public var ctype: String
        /// `c` libc, `i` ICU, `b` builtin; empty before PostgreSQL 15.
        public var provider: String
        public var isTemplate: Bool

        public init(name: String, encoding: String, collate: String, ctype: String, provider: String, isTemplate: Bool) {
            self.name = name
            self.encoding = encoding
            self.collate = collate
            self.ctype = ctype
            self.provider = provider
            self.isTemplate = isTemplate
        }
    }

    public var serverMajor: Int
    public var dataChecksums: Bool
    /// The bootstrap superuser (role oid 10): the install user `pg_upgrade` and `initdb -U` must match.
    public var bootstrapRole: String
    public var md5Roles: [String]
    public var sharedPreloadLibraries: [String]
    public var totalBytes: Int64
    public var databases: [Database]
    /// Installed extensions over all connectable databases (plpgsql excluded).
    public var extensions: [String]
    /// `db: default collation recorded X, now Y` / `db: collation "c" recorded X, now Y`.
    public var collationMismatches: [String]
    /// `wal_level` (nil when not read).
    public var walLevel: String?

    public init(
        serverMajor: Int, dataChecksums: Bool, bootstrapRole: String, md5Roles: [String], sharedPreloadLibraries: [String],
        totalBytes: Int64, databases: [Database], extensions: [String], collationMismatches: [String], walLevel: String? = nil
    ) {
        self.walLevel = walLevel
        self.serverMajor = serverMajor
        self.dataChecksums = dataChecksums
        self.bootstrapRole = bootstrapRole
        self.md5Roles = md5Roles
        self.sharedPreloadLibraries = sharedPreloadLibraries
        self.totalBytes = totalBytes
        self.databases = databases
        self.extensions = extensions
        self.collationMismatches = collationMismatches
    }
}

/// The parts of `pg_controldata` doctor reads from a stopped cluster.
public struct DoctorControlData: Sendable, Hashable, Codable {
    /// "shut down", "in production", "shut down in recovery" …
    public var state: String?
    /// `Data page checksum version`: 0 = off.
    public var checksumVersion: Int?
    /// `postmaster.pid` is present although no server runs (left by a kill).
    public var stalePidFile: Bool

    public init(state: String?, checksumVersion: Int?, stalePidFile: Bool) {
        self.state = state
        self.checksumVersion = checksumVersion
        self.stalePidFile = stalePidFile
    }

    /// Parses `pg_controldata` output (English, as the images run it).
    public static func parse(_ text: String, stalePidFile: Bool = false) -> DoctorControlData {
        var state: String?
        var checksum: Int?
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "Database cluster state": state = value
            case "Data page checksum version": checksum = Int(value)
            default: break
            }
        }
        return DoctorControlData(state: state, checksumVersion: checksum, stalePidFile: stalePidFile)
    }

    public var isCleanlyShutDown: Bool { state == "shut down" }
}

/// A compose service's restart and healthcheck settings, which `ComposeService` does not model: read from
/// the same `docker compose config --format json` output.
public struct DoctorServiceRuntime: Sendable, Hashable, Codable {
    public var restart: String?
    /// `deploy.restart_policy.condition`
    public var deployRestart: String?
    /// The healthcheck test joined by spaces; nil when none (or `disable: true`).
    public var healthcheck: String?
    public var dependsOn: [String]

    public init(restart: String? = nil, deployRestart: String? = nil, healthcheck: String? = nil, dependsOn: [String] = []) {
        self.restart = restart
        self.deployRestart = deployRestart
        self.healthcheck = healthcheck
        self.dependsOn = dependsOn
    }

    /// Decodes `services.*.{restart, deploy.restart_policy, healthcheck, depends_on}` from compose's JSON.
    ///
    /// The healthcheck is shown to the user, and deployments put passwords in it (`PGPASSWORD=… pg_isready`):
    /// each word is masked here, before it is joined or shortened — `redactor` for the known password,
    /// `CredentialText` for any credential by its place — so no cut can leave part of one.
    public static func decode(_ data: Data, redactor: Redactor = Redactor()) throws -> [String: DoctorServiceRuntime] {
        struct Root: Decodable { var services: [String: Service]? }
        struct Service: Decodable {
            var restart: String?
            var deploy: Deploy?
            var healthcheck: Health?
            var depends_on: [String: AnyValue]?
        }
        struct Deploy: Decodable { var restart_policy: Policy? }
        struct Policy: Decodable { var condition: String? }
        struct Health: Decodable {
            var test: [String]?
            var disable: Bool?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Keys.self)
                disable = try c.decodeIfPresent(Bool.self, forKey: .disable)
                if let list = try? c.decodeIfPresent([String].self, forKey: .test) { test = list }
                else if let text = try? c.decodeIfPresent(String.self, forKey: .test) { test = [text] }
            }
            enum Keys: String, CodingKey { case test, disable }
        }
        struct AnyValue: Decodable { init(from decoder: any Decoder) throws {} }
        let root = try JSONDecoder().decode(Root.self, from: data)
        var result: [String: DoctorServiceRuntime] = [:]
        for (name, service) in root.services ?? [:] {
            var health: String?
            if let test = service.healthcheck?.test, service.healthcheck?.disable != true, test.first != "NONE" {
                let shell = test.first == "CMD-SHELL" || !(test.first == "CMD")
                let words = (test.first == "CMD" || test.first == "CMD-SHELL" ? Array(test.dropFirst()) : test)
                    .map { redactor.redact(ComposeEscaping.unescape($0)) }
                    .map { shell ? CredentialText.maskText($0) : CredentialText.maskWord($0) }
                health = words.joined(separator: " ")
            }
            result[name] = DoctorServiceRuntime(
                restart: service.restart, deployRestart: service.deploy?.restart_policy?.condition, healthcheck: health,
                dependsOn: (service.depends_on ?? [:]).keys.sorted())
        }
        return result
    }

    /// The effective restart policy, `no` when none.
    public var effectiveRestart: String { restart ?? deployRestart ?? "no" }
}
