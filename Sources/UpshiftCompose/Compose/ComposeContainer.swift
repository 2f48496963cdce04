import Foundation

/// One container of the project as `docker compose ps --format json` reports it.
public struct ComposeContainer: Sendable, Hashable, Codable {
    public var name: String
    public var service: String
    /// `running`, `exited`, `created`, `paused`, `restarting`, `removing`, `dead`.
    public var state: String
    /// `healthy`, `unhealthy`, `starting`, or empty when the service has no healthcheck.
    public var health: String?
    public var image: String?
    public var exitCode: Int?

    public init(name: String, service: String, state: String, health: String? = nil, image: String? = nil, exitCode: Int? = nil) {
        self.name = name
        self.service = service
        self.state = state
        self.health = health
        self.image = image
        self.exitCode = exitCode
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", service = "Service", state = "State", health = "Health", image = "Image"
        case exitCode = "ExitCode"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        service = try c.decode(String.self, forKey: .service)
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? "unknown"
        health = try c.decodeIfPresent(String.self, forKey: .health).flatMap { $0.isEmpty ? nil : $0 }
        image = try c.decodeIfPresent(String.self, forKey: .image)
        exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode)
    }

    public var isRunning: Bool { state == "running" }

    /// Parses `ps --format json`: one object per line since v2.21, a single array before.
    public static func parseList(_ data: Data) throws -> [ComposeContainer] {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        let decoder = JSONDecoder()
        if text.hasPrefix("[") { return try decoder.decode([ComposeContainer].self, from: Data(text.utf8)) }
        return try text.split(whereSeparator: \.isNewline).map { line in
            try decoder.decode(ComposeContainer.self, from: Data(line.utf8))
        }
    }
}
