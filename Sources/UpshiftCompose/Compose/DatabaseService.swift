import Foundation
import UpshiftPostgres
import UpshiftSupport

/// The project's PostgreSQL service and everything upshift needs to know about it, read from the resolved
/// compose model (never from the YAML): image, superuser, database, where the password comes from, the
/// effective PGDATA and the mount that holds it.
public struct DatabaseService: Sendable, Hashable, Codable {
    /// Where the superuser password comes from. The value itself is never part of this type's encoding.
    public enum PasswordSource: Sendable, Hashable, Codable {
        /// `POSTGRES_PASSWORD` in the resolved environment.
        case environment
        /// `POSTGRES_PASSWORD_FILE`: a path in the container, and the host file when a bind mount or a
        /// compose file secret makes it readable without the container.
        case file(containerPath: String, hostPath: String?)
        /// Neither is set (trust auth, or `POSTGRES_HOST_AUTH_METHOD`).
        case none
    }

    public var service: String
    public var image: ImageReference
    /// The image string as compose resolved it.
    public var imageText: String
    public var superuser: String
    public var database: String
    public var passwordSource: PasswordSource
    /// The password from `POSTGRES_PASSWORD`, or read from a host-readable `_FILE`. Kept out of `Codable`
    /// so status JSON, plans and audit records can never carry it.
    public var password: Secret?

    /// `["PGPASSWORD": password]` (empty without one): how the password reaches a subprocess — by
    /// environment, named in argv with `-e PGPASSWORD`, never as a value in argv.
    public var passwordEnvironment: [String: String] { password.map { ["PGPASSWORD": $0.revealed] } ?? [:] }

    /// libpq parameters for the superuser at `host:port`: the published port during a window, or the
    /// container's own address (port 5432 inside).
    public func superuserConnection(host: String, port: Int, database name: String = "postgres", connectTimeout: Int = 5) -> ConnectionParameters {
        ConnectionParameters(host: host, port: port, user: superuser, password: password?.revealed, database: name, connectTimeout: connectTimeout)
    }
    /// True when PGDATA is set in the environment; false when it is the image default for the major.
    public var pgdataIsExplicit: Bool
    public var dataLocation: DataLocation
    /// Set when the image is 18+ with the default PGDATA but the data is mounted the pre-18 way at
    /// `/var/lib/postgresql/data`: the old cluster lives there (and the 18 entrypoint refuses to start).
    public var legacyLayoutLocation: DataLocation?
    /// Notes for the user about assumptions made (unknown major, data not persistent …).
    public var notes: [String]
    /// The service's mounts at or under `/docker-entrypoint-initdb.d` (see `InitScriptMask`).
    public var initScriptMounts: [ComposeServiceVolume] = []
    /// The other services on a postgres image that run no server of their own (a backup sidecar looping
    /// `pg_dump`, an init or admin job), sorted. They follow the database to its new major: `pg_dump` refuses
    /// a server newer than itself.
    public var sidecars: [String] = []

    enum CodingKeys: String, CodingKey {
        case service, image, imageText, superuser, database, passwordSource, pgdataIsExplicit, dataLocation, legacyLayoutLocation, notes, initScriptMounts, sidecars
    }

    public var pgdata: String { dataLocation.pgdata }
    /// The major the image tag names, `nil` for `latest` or a digest-only reference.
    public var imageMajor: Int? { image.major }
    /// The image family: it decides the target tag, the default data directory and the variables read.
    public var family: PostgresImageFamily { image.family ?? .custom }

    /// The data directory the image uses when PGDATA is not set. Official (and derived) images:
    /// `/var/lib/postgresql/data` up to 17, `/var/lib/postgresql/<major>/docker` from 18 (docker-library/postgres
    /// PR #1259); an unknown major (`latest`) is taken as the current layout. Bitnami and TimescaleDB HA keep
    /// their own folder at every major.
    public static func defaultPGData(major: Int?, family: PostgresImageFamily = .official) -> String {
        family.defaultPGData(major: major)
    }

    /// `defaultPGData` for this service's family.
    public func defaultPGData(major: Int?) -> String { family.defaultPGData(major: major) }

    /// What `postgres:latest` currently is.
    public static let latestMajor = 18
}

extension DatabaseService {
    /// Picks the database service from `config` and reads its settings.
    ///
    /// - Parameters:
    ///   - named: `--db-service`; otherwise the one service whose image repository is `postgres`.
    ///   - readFile: reads a host file (a bind-mounted `POSTGRES_PASSWORD_FILE`); injected for tests.
    /// - Throws: `UpshiftError` (exit 64) for no postgres service, several without `--db-service`, an
    ///   unknown name, or a named service whose image is not postgres.
    public static func select(
        from config: ComposeConfig, named: String? = nil,
        readFile: (String) -> String? = { path in
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        }
    ) throws -> DatabaseService {
        let serviceName: String
        if let named {
            guard let service = config.services[named] else {
                throw UpshiftError.usage(
                    "service \"\(named)\" (--db-service) is not in the project",
                    hint: "services: \(config.serviceNames.joined(separator: ", ")); a service behind an inactive profile is not listed")
            }
            guard let text = service.image, let ref = ImageReference(parsing: text),
                  ref.family != nil || DerivedPostgresImage.candidates(in: config).contains(named) else {
                throw UpshiftError.usage(
                    "service \"\(named)\" (--db-service) does not run a postgres image (image: \(service.image ?? "none"))",
                    hint: "upshift manages services on a postgres, PostGIS, pgvector, TimescaleDB or Bitnami image, or one that keeps PostgreSQL data under /var/lib/postgresql")
            }
            serviceName = named
        } else {
            let postgres = config.serviceNames.filter { config.services[$0].map(Self.runsPostgresImage) == true }
            // Several candidates: the one that runs a server on persistent data is the database; the others
            // (backup sidecars and the like) are not candidates at all.
            let servers = postgres.count > 1 ? postgres.filter { runsServer(config.services[$0]!, in: config, onlyCandidate: false) } : postgres
            switch (postgres.count, servers.count) {
            case (0, _) where DerivedPostgresImage.candidates(in: config).count == 1:
                // A custom image that keeps PostgreSQL data (Immich's): the database; pg-upgrade needs --image for it.
                serviceName = DerivedPostgresImage.candidates(in: config)[0]
            case (0, _):
                let images = config.serviceNames.map { "\($0)=\(config.services[$0]?.image ?? "build")" }
                throw UpshiftError.usage(
                    "no postgres service in project \"\(config.name)\" (\(images.joined(separator: ", ")))",
                    hint: "upshift looks for a service whose image is postgres; name another with --db-service")
            case (_, 1):
                serviceName = servers[0]
            default:
                throw UpshiftError.usage(
                    "several postgres services in project \"\(config.name)\": \(postgres.joined(separator: ", "))"
                        + (servers.isEmpty ? "" : " (\(servers.joined(separator: ", ")) each run a server on persistent data)"),
                    hint: "choose one with --db-service \(servers.first ?? postgres[0])")
            }
        }
        let service = config.services[serviceName]!
        let imageText = service.image!
        let image = ImageReference(parsing: imageText)!
        var notes: [String] = []

        let family = image.family ?? .custom
        let variables = ServerVariables(family: family, service: service)
        let superuser = variables.superuser
        let database = variables.database

        var passwordSource = PasswordSource.none
        var password: Secret?
        if let value = variables.password {
            passwordSource = .environment
            password = Secret(value)
        } else if let path = variables.passwordFile {
            let hostPath = hostPath(ofContainerFile: path, service: service, config: config)
            passwordSource = .file(containerPath: path, hostPath: hostPath)
            if let hostPath, let text = readFile(hostPath) {
                password = Secret(text.trimmingCharacters(in: .newlines))
            } else {
                notes.append("\(variables.passwordFileName) \(path) is only readable inside the container")
            }
        }

        let explicitPGData = nonEmpty(service.environmentValue(family == .bitnami ? "POSTGRESQL_DATA_DIR" : "PGDATA"))
        if image.major == nil {
            notes.append(
                "image tag \"\(image.tag ?? "none")\" names no major version; assuming the postgres \(latestMajor) layout")
        }
        if let digest = image.digest {
            notes.append(
                "the image is pinned by digest (\(digest.prefix(19))…): the engine pulls by digest and ignores the tag, "
                    + "so a tag change must also drop or replace the digest")
        }
        let pgdata = explicitPGData ?? family.defaultPGData(major: image.major)
        let location = DataLocation.resolve(
            pgdata: pgdata, volumes: service.volumes, topLevelVolumes: config.volumes, projectName: config.name)
        var legacy: DataLocation?
        if explicitPGData == nil, family.usesOfficialEntrypoint, family != .timescaledbHA, (image.major ?? latestMajor) >= 18 {
            let old = DataLocation.resolve(
                pgdata: "/var/lib/postgresql/data", volumes: service.volumes, topLevelVolumes: config.volumes,
                projectName: config.name)
            if old.isPersistent, old.mountTarget != location.mountTarget {
                legacy = old
                notes.append(
                    "postgres 18+ images keep data in \(pgdata), but the mount at /var/lib/postgresql/data uses the "
                        + "pre-18 layout (\(old.summary)); the 18 entrypoint refuses to start on it")
            }
        }
        if !location.isPersistent && legacy == nil {
            notes.append("PGDATA \(location.pgdata) is not on a bind mount or named volume: \(location.summary)")
        }
        // A password that is also one of these names (`postgres`, the project's, a service's) is masked only
        // where it stands as a value: masking it everywhere would print it by what is left around the mask.
        password = password.map { Secret($0.revealed, commonWords: Self.commonWords(config, pgdata: pgdata)) }
        return DatabaseService(
            service: serviceName, image: image, imageText: imageText, superuser: superuser, database: database,
            passwordSource: passwordSource, password: password, pgdataIsExplicit: explicitPGData != nil,
            dataLocation: location, legacyLayoutLocation: legacy, notes: notes,
            initScriptMounts: service.volumes.filter { $0.target == InitScriptMask.directory || $0.target.hasPrefix(InitScriptMask.directory + "/") },
            sidecars: config.serviceNames.filter { name in
                name != serviceName && config.services[name].map { runsPostgresImage($0) && !runsServer($0, in: config, onlyCandidate: false) } == true
            })
    }

    /// Whether the service's image is of a known PostgreSQL family (look-alikes such as `postgrest/postgrest`
    /// or `prodrigestivill/postgres-backup-local` are not).
    static func runsPostgresImage(_ service: ComposeService) -> Bool {
        service.image.flatMap(ImageReference.init(parsing:))?.family != nil
    }

    /// Whether a service on a postgres image runs a PostgreSQL server: the image's entrypoint (absent or
    /// `docker-entrypoint.sh`), its command absent, `postgres …` or flags to postgres (`-c …`), and its PGDATA
    /// on a persistent mount — unless it is the only candidate, when an ephemeral cluster is still the
    /// database (and `select` notes it). A service whose command is replaced (`sh -c 'pg_dump …'`) runs none.
    public static func runsServer(_ service: ComposeService, in config: ComposeConfig, onlyCandidate: Bool) -> Bool {
        let defaultEntrypoint = service.entrypoint.map { entrypoint in
            entrypoint.count == 1 && ["docker-entrypoint.sh", "entrypoint.sh"].contains((entrypoint[0] as NSString).lastPathComponent)
        } ?? true
        let serverCommand = service.command.map { command in
            guard let first = command.first else { return true }
            return first == "postgres" || first.hasPrefix("-")
        } ?? true
        guard defaultEntrypoint, serverCommand else { return false }
        if onlyCandidate { return true }
        let image = service.image.flatMap(ImageReference.init(parsing:))
        let major = image?.major
        let family = image?.family ?? .custom
        let explicit = nonEmpty(service.environmentValue(family == .bitnami ? "POSTGRESQL_DATA_DIR" : "PGDATA"))
        let resolve = { (pgdata: String) in
            DataLocation.resolve(pgdata: pgdata, volumes: service.volumes, topLevelVolumes: config.volumes, projectName: config.name)
        }
        if resolve(explicit ?? family.defaultPGData(major: major)).isPersistent { return true }
        // The 18+ image on a pre-18 mount is still the database (select explains the layout).
        return explicit == nil && (major ?? latestMajor) >= 18 && resolve("/var/lib/postgresql/data").isPersistent
    }

    /// The host file behind a container path: a compose file secret, or a file under a bind mount.
    static func hostPath(ofContainerFile path: String, service: ComposeService, config: ComposeConfig) -> String? {
        for secret in service.secrets where secret.containerPath == path {
            if let file = config.secrets[secret.source]?.file { return file }
        }
        let binds = service.volumes.filter { $0.type == .bind && $0.source != nil }
        let covering = binds.filter { path == $0.target || path.hasPrefix($0.target.hasSuffix("/") ? $0.target : $0.target + "/") }
        guard let mount = covering.max(by: { $0.target.count < $1.target.count }), let source = mount.source else { return nil }
        let rest = path.dropFirst(mount.target.count).drop(while: { $0 == "/" })
        return rest.isEmpty ? source : "\(source)/\(rest)"
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}

extension DatabaseService {
    /// The names upshift prints about this deployment: project, services, images, volumes, mount paths, users,
    /// databases and PGDATA.
    package static func commonWords(_ config: ComposeConfig, pgdata: String) -> [String] {
        var words = [config.name, pgdata] + config.serviceNames
        for service in config.services.values {
            words += [service.image].compactMap { $0 }
            words += service.volumes.flatMap { [$0.source, $0.target].compactMap { $0 } }
            words += ["POSTGRES_USER", "POSTGRES_DB"].compactMap { service.environmentValue($0) }
        }
        words += config.volumes.values.compactMap(\.name)
        return words
    }

    /// `commonWords` of what this service knows without the project: for a password read later (in the container).
    package var commonWords: [String] {
        [service, imageText, superuser, database, dataLocation.pgdata, dataLocation.summary] + sidecars
    }
}
