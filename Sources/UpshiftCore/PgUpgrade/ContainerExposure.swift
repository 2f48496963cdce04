import Foundation
import UpshiftSupport

/// How other clients can reach a database container: the networks it is attached to (with its address on
/// each) and the ports it publishes on the engine's host. Read from `docker inspect` before the window,
/// so the isolation knows what to close and what to probe afterwards.
public struct ContainerExposure: Sendable, Hashable, Codable {
    /// One published port: `HostIp` (`0.0.0.0`, `::`, `127.0.0.1`, …) and `HostPort`.
    public struct Binding: Sendable, Hashable, Codable {
        public var hostIP: String
        public var hostPort: Int
        public var containerPort: String
    }

    /// Network name → the container's IPv4 address on it (may be empty).
    public var networks: [String: String]
    public var bindings: [Binding]
    /// `HostConfig.NetworkMode`: `bridge`, a network name, `host`, `none`, `container:<id>`.
    public var networkMode: String

    /// Whether other clients are kept out by changing the container's networks: not for `host` (it listens on
    /// the host's own interfaces) nor a shared namespace (`container:`/`service:`).
    public var networksCanBeSwapped: Bool {
        !(networkMode == "host" || networkMode == "none" || networkMode.hasPrefix("container:") || networkMode.hasPrefix("service:"))
    }

    /// Reads a container's exposure; `nil` when docker does not know it.
    public static func inspect(container: String, runner: any CommandRunning) async throws -> ContainerExposure? {
        let result = try await runner.run(Command(
            "docker", ["inspect", "--format", "{{json .NetworkSettings.Networks}}\t{{json .NetworkSettings.Ports}}\t{{json .HostConfig.NetworkMode}}", container],
            timeout: .seconds(60)))
        guard result.termination.isSuccess else { return nil }
        return try parse(result.stdoutText)
    }

    /// Parses the three JSON values `inspect` prints, tab-separated.
    static func parse(_ text: String) throws -> ContainerExposure {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3 else { throw UpshiftError("unexpected docker inspect output for the database container: \(text.prefix(200))") }
        struct Endpoint: Decodable { var IPAddress: String? }
        struct PortBinding: Decodable { var HostIp: String?; var HostPort: String? }
        let decoder = JSONDecoder()
        let networks = (try? decoder.decode([String: Endpoint]?.self, from: Data(fields[0].utf8))) ?? nil
        let ports = (try? decoder.decode([String: [PortBinding]?]?.self, from: Data(fields[1].utf8))) ?? nil
        let mode = (try? decoder.decode(String.self, from: Data(fields[2].utf8))) ?? ""
        var bindings: [Binding] = []
        for (containerPort, list) in ports ?? [:] {
            for binding in list ?? [] {
                guard let port = binding.HostPort.flatMap(Int.init) else { continue }
                bindings.append(Binding(hostIP: binding.HostIp ?? "", hostPort: port, containerPort: containerPort))
            }
        }
        bindings.sort { ($0.hostPort, $0.hostIP) < ($1.hostPort, $1.hostIP) }
        return ContainerExposure(
            networks: (networks ?? [:]).mapValues { $0.IPAddress ?? "" }, bindings: bindings, networkMode: mode)
    }

    /// Where a client on this host would knock for each published port (a wildcard binding is reached on loopback).
    public var knockAddresses: [(host: String, port: Int)] {
        var seen = Set<String>()
        var result: [(String, Int)] = []
        for binding in bindings {
            let host: String
            switch binding.hostIP {
            case "", "0.0.0.0": host = "127.0.0.1"
            case "::": host = "::1"
            default: host = binding.hostIP
            }
            if seen.insert("\(host)|\(binding.hostPort)").inserted { result.append((host, binding.hostPort)) }
        }
        return result
    }
}
