import Foundation
import UpshiftSupport

/// The resolved project as `docker compose config --format json` prints it.
///
/// Compose has already merged override files, interpolated `.env`, applied profiles (inactive services are
/// absent), merged `env_file` into `environment` and turned short volume syntax into long syntax, so upshift
/// never parses YAML for meaning. Only the fields upshift reads are modelled; unknown fields are ignored.
///
/// Compose re-escapes every `$` in string values as `$$` so its output stays a valid compose file. The
/// decoder maps `$$` back to `$` in the fields upshift uses (image, environment, command, volume paths), so
/// values here are what the container really sees.
public struct ComposeConfig: Sendable, Hashable, Codable {
    /// The project name compose settled on (`-p`, `COMPOSE_PROJECT_NAME`, `name:`, or the directory name).
    public var name: String
    public var services: [String: ComposeService]
    /// Top-level volumes by key. `name` is always filled in by compose: the real docker volume name.
    public var volumes: [String: ComposeTopLevelVolume]
    public var secrets: [String: ComposeTopLevelSecret]

    public init(
        name: String, services: [String: ComposeService], volumes: [String: ComposeTopLevelVolume] = [:],
        secrets: [String: ComposeTopLevelSecret] = [:]
    ) {
        self.name = name
        self.services = services
        self.volumes = volumes
        self.secrets = secrets
    }

    enum CodingKeys: String, CodingKey { case name, services, volumes, secrets }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        services = try c.decodeIfPresent([String: ComposeService].self, forKey: .services) ?? [:]
        volumes = try c.decodeIfPresent([String: ComposeTopLevelVolume].self, forKey: .volumes) ?? [:]
        secrets = try c.decodeIfPresent([String: ComposeTopLevelSecret].self, forKey: .secrets) ?? [:]
    }

    /// Decodes compose's JSON output. Errors carry the coding path so a surprising compose version is easy
    /// to diagnose.
    public static func decode(_ data: Data) throws -> ComposeConfig {
        do {
            return try JSONDecoder().decode(ComposeConfig.self, from: data)
        } catch let error as DecodingError {
            throw UpshiftError(
                "cannot read the output of `docker compose config --format json`: \(error.readableDescription)",
                hint: "upshift needs docker compose v2 or later; check `docker compose version`")
        }
    }

    /// Service names in a stable order (compose's JSON map order is not meaningful).
    public var serviceNames: [String] { services.keys.sorted() }
}

/// One service of the resolved model.
public struct ComposeService: Sendable, Hashable, Codable {
    /// The image reference exactly as written (after interpolation), not normalised: `postgres:15` stays so.
    public var image: String?
    /// `nil` values are variables declared without a value and unset in the environment.
    public var environment: [String: String?]
    public var volumes: [ComposeServiceVolume]
    public var command: [String]?
    public var entrypoint: [String]?
    public var secrets: [ComposeServiceSecret]
    /// `build:` when the image is built locally (see `ComposeBuild`); `image:` is then only its tag.
    public var build: ComposeBuild?
    public var containerName: String?
    /// `depends_on` service names (compose's resolved model is a map; a list is read too).
    public var dependsOn: [String] = []
    /// `network_mode` (`service:db` shares the database's network namespace).
    public var networkMode: String?

    public var hasBuild: Bool { build != nil }

    public init(
        image: String?, environment: [String: String?] = [:], volumes: [ComposeServiceVolume] = [],
        command: [String]? = nil, entrypoint: [String]? = nil, secrets: [ComposeServiceSecret] = [],
        build: ComposeBuild? = nil, containerName: String? = nil
    ) {
        self.image = image
        self.environment = environment
        self.volumes = volumes
        self.command = command
        self.entrypoint = entrypoint
        self.secrets = secrets
        self.build = build
        self.containerName = containerName
    }

    enum CodingKeys: String, CodingKey {
        case image, environment, volumes, command, entrypoint, secrets, build
        case containerName = "container_name"
        case dependsOn = "depends_on"
        case networkMode = "network_mode"
    }

    /// One `depends_on` entry of the map form; only its presence matters here.
    private struct DependencyCondition: Codable {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decodeIfPresent(String.self, forKey: .image).map(ComposeEscaping.unescape)
        let env = try c.decodeIfPresent([String: String?].self, forKey: .environment) ?? [:]
        environment = env.mapValues { $0.map(ComposeEscaping.unescape) }
        volumes = try c.decodeIfPresent([ComposeServiceVolume].self, forKey: .volumes) ?? []
        command = try Self.decodeCommand(c, .command)
        entrypoint = try Self.decodeCommand(c, .entrypoint)
        secrets = try c.decodeIfPresent([ComposeServiceSecret].self, forKey: .secrets) ?? []
        build = try c.contains(.build) && !c.decodeNil(forKey: .build) ? c.decode(ComposeBuild.self, forKey: .build) : nil
        containerName = try c.decodeIfPresent(String.self, forKey: .containerName)
        if let map = try? c.decodeIfPresent([String: DependencyCondition].self, forKey: .dependsOn) {
            dependsOn = map.keys.sorted()
        } else if let list = try? c.decodeIfPresent([String].self, forKey: .dependsOn) {
            dependsOn = list
        }
        networkMode = try? c.decodeIfPresent(String.self, forKey: .networkMode)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(image, forKey: .image)
        try c.encode(environment, forKey: .environment)
        try c.encode(volumes, forKey: .volumes)
        try c.encodeIfPresent(command, forKey: .command)
        try c.encodeIfPresent(entrypoint, forKey: .entrypoint)
        try c.encode(secrets, forKey: .secrets)
        try c.encodeIfPresent(build, forKey: .build)
        try c.encodeIfPresent(containerName, forKey: .containerName)
        if !dependsOn.isEmpty { try c.encode(Dictionary(uniqueKeysWithValues: dependsOn.map { ($0, DependencyCondition()) }), forKey: .dependsOn) }
        try c.encodeIfPresent(networkMode, forKey: .networkMode)
    }

    /// `command`/`entrypoint` are normalised to arrays by compose; a plain string is accepted for safety.
    private static func decodeCommand(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String]? {
        if let array = try? c.decodeIfPresent([String].self, forKey: key) { return array.map(ComposeEscaping.unescape) }
        if let text = try? c.decodeIfPresent(String.self, forKey: key) {
            return text.split(separator: " ").map { ComposeEscaping.unescape(String($0)) }
        }
        return nil
    }

    /// The value a variable has inside the container, or `nil` when unset or declared without a value.
    public func environmentValue(_ name: String) -> String? {
        guard let value = environment[name] else { return nil }
        return value
    }
}

/// One entry of a service's `volumes:` in compose's long syntax.
public struct ComposeServiceVolume: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case bind, volume, tmpfs, image, npipe, cluster
    }

    public var type: Kind
    /// bind: absolute host path; volume: the top-level volume key (nil for an anonymous volume).
    public var source: String?
    public var target: String
    public var readOnly: Bool
    /// `volume.subpath`: the volume is mounted from this directory inside it.
    public var volumeSubpath: String?

    public init(type: Kind, source: String?, target: String, readOnly: Bool = false, volumeSubpath: String? = nil) {
        self.type = type
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.volumeSubpath = volumeSubpath
    }

    enum CodingKeys: String, CodingKey {
        case type, source, target, volume
        case readOnly = "read_only"
    }

    struct VolumeOptions: Codable { var subpath: String? }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rawType = try c.decode(String.self, forKey: .type)
        type = Kind(rawValue: rawType) ?? .volume
        source = try c.decodeIfPresent(String.self, forKey: .source).map(ComposeEscaping.unescape)
        target = ComposeEscaping.unescape(try c.decode(String.self, forKey: .target))
        readOnly = try c.decodeIfPresent(Bool.self, forKey: .readOnly) ?? false
        volumeSubpath = try c.decodeIfPresent(VolumeOptions.self, forKey: .volume)?.subpath.map(ComposeEscaping.unescape)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type.rawValue, forKey: .type)
        try c.encodeIfPresent(source, forKey: .source)
        try c.encode(target, forKey: .target)
        try c.encode(readOnly, forKey: .readOnly)
        if let volumeSubpath { try c.encode(VolumeOptions(subpath: volumeSubpath), forKey: .volume) }
    }
}

/// A top-level `volumes:` entry. Compose always fills `name` (`<project>_<key>`, the explicit `name:`, or
/// the key itself for `external`).
public struct ComposeTopLevelVolume: Sendable, Hashable, Codable {
    public var name: String?
    public var external: Bool?
    public var driver: String?

    public init(name: String?, external: Bool? = nil, driver: String? = nil) {
        self.name = name
        self.external = external
        self.driver = driver
    }
}

/// A service's `secrets:` entry (compose resolves `target` to `/run/secrets/<source>` by default).
public struct ComposeServiceSecret: Sendable, Hashable, Codable {
    public var source: String
    public var target: String?

    public init(source: String, target: String? = nil) {
        self.source = source
        self.target = target
    }

    public var containerPath: String {
        guard let target else { return "/run/secrets/\(source)" }
        return target.hasPrefix("/") ? target : "/run/secrets/\(target)"
    }
}

/// A top-level `secrets:` entry; `file` is an absolute host path when the secret comes from a file.
public struct ComposeTopLevelSecret: Sendable, Hashable, Codable {
    public var name: String?
    public var file: String?
    public var environment: String?

    public init(name: String? = nil, file: String? = nil, environment: String? = nil) {
        self.name = name
        self.file = file
        self.environment = environment
    }
}

/// Compose's `$` escaping in interpolated `config` output.
public enum ComposeEscaping {
    /// `$$` -> `$`: compose doubles every literal `$` in its output (docker/compose#8632).
    public static func unescape(_ text: String) -> String {
        guard text.contains("$$") else { return text }
        return text.replacingOccurrences(of: "$$", with: "$")
    }
}

extension DecodingError {
    /// "at services.db.volumes[0].target: <reason>" rather than Foundation's multi-line dump.
    var readableDescription: String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch self {
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
            return "at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case .keyNotFound(let key, let ctx):
            return "at \(path(ctx.codingPath)): missing key \(key.stringValue)"
        @unknown default:
            return "\(self)"
        }
    }
}
