import Foundation
import UpshiftSupport

/// Where the docker engine is, as the docker CLI resolves it (`DOCKER_HOST`, `DOCKER_CONTEXT`, the current
/// context): read with `docker context inspect`, which connects to nothing.
///
/// Changing runs need the engine on this host: the window reaches containers at their addresses and on
/// 127.0.0.1, dumps go to local folders, bind-mount sources are this host's paths. Against an engine over
/// TCP or SSH they would fail after the application stopped, so such runs are refused before anything changes
/// until every step works there.
public struct EngineEndpoint: Sendable, Hashable {
    /// `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376`, `ssh://admin@nas`, …
    public var host: String

    public init(host: String) { self.host = host }

    /// A unix socket or named pipe, or TCP to a loopback address: the engine runs on this host.
    public var isLocal: Bool {
        let lower = host.lowercased()
        if lower.hasPrefix("unix://") || lower.hasPrefix("npipe://") || lower.isEmpty { return true }
        guard lower.hasPrefix("tcp://") || lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
        var rest = Substring(lower.drop(while: { $0 != ":" }).dropFirst(3))
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        let hostPart: Substring
        if rest.hasPrefix("[") {
            hostPart = rest.dropFirst().prefix(while: { $0 != "]" })
        } else {
            hostPart = rest.prefix(while: { $0 != ":" && $0 != "/" })
        }
        let octets = hostPart.split(separator: ".", omittingEmptySubsequences: false)
        let loopbackV4 = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        return hostPart == "localhost" || hostPart == "::1" || loopbackV4
    }

    /// The engine the docker CLI would use now.
    public static func current(runner: any CommandRunning, docker: String = "docker") async throws -> EngineEndpoint {
        let result = try await runner.run(Command(docker, ["context", "inspect", "--format", "{{.Endpoints.docker.Host}}"], timeout: .seconds(30)))
        guard result.termination.isSuccess else {
            throw UpshiftError.usage(
                "docker cannot tell which engine to use: \(result.stderrText.split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(result.termination)")",
                hint: "check DOCKER_HOST, DOCKER_CONTEXT and `docker context ls`")
        }
        return EngineEndpoint(host: result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Refuses (exit 64, nothing changed) when the engine is not on this host.
    /// - Parameter command: what was asked, for the message (`pg-upgrade`).
    public static func requireLocal(_ command: String, runner: any CommandRunning) async throws {
        let endpoint = try await current(runner: runner)
        guard endpoint.isLocal else {
            throw UpshiftError.usage(
                "\(command) needs the docker engine on this host, but docker talks to \(endpoint.host) (DOCKER_HOST or the docker context): the window reaches the database on this host's network and writes dumps to this host's disk, so it would fail after the application stopped; nothing was changed",
                hint: "run upshift on the engine's host itself (for example over ssh there), or point DOCKER_HOST / `docker context use` at a local engine")
        }
    }
}
