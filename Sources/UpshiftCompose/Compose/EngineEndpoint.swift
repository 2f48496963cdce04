import Foundation
import UpshiftSupport

/// Where the docker engine is, as the docker CLI resolves it (`DOCKER_HOST`, `DOCKER_CONTEXT`, the current
/// context): read with `docker context inspect`, which connects to nothing.
///
/// `pg-upgrade` and `update` work against an engine on another host: they reach the database through
/// `DatabaseTunnel` and publish nothing there (`remoteEngine` in their options). `import`, `transfer` and
/// `restore` still read and write this host's files as the engine's (records files, media folders), so they
/// refuse such an engine before anything changes (`requireLocal`).
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

    /// The docker context the endpoint belongs to (`default` when `DOCKER_HOST` or `-H` names the engine);
    /// `nil` when docker did not say.
    public var context: String?

    public init(host: String, context: String?) {
        self.host = host
        self.context = context
    }

    /// `docker context inspect`'s answer: the context's name and its docker endpoint, tab-separated.
    static let inspectFormat = "{{.Name}}\t{{.Endpoints.docker.Host}}"

    /// Reads `name<TAB>host` (or a host alone).
    static func parse(_ text: String) -> EngineEndpoint {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 2 else { return EngineEndpoint(host: line, context: nil) }
        return EngineEndpoint(host: parts[1], context: parts[0].isEmpty ? nil : parts[0])
    }

    /// The engine the docker CLI would use now (the runner's environment decides: `DOCKER_CONTEXT`,
    /// `DOCKER_HOST`, the current context).
    public static func current(runner: any CommandRunning, docker: String = "docker") async throws -> EngineEndpoint {
        let result = try await runner.run(Command(docker, ["context", "inspect", "--format", inspectFormat], timeout: .seconds(30)))
        guard result.termination.isSuccess else {
            throw UpshiftError.usage(
                "docker cannot tell which engine to use: \(result.stderrText.split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(result.termination)")",
                hint: "check --context, DOCKER_CONTEXT, DOCKER_HOST and `docker context ls`")
        }
        return parse(result.stdoutText)
    }

    /// The engine a run pins for all its children, resolved the way docker resolves it
    /// (docker/cli `resolveContextName`): `--context` first (it beats `DOCKER_HOST`), then `DOCKER_HOST` (left
    /// to the inherited environment), then `DOCKER_CONTEXT`, then the current context. A context named by
    /// `--context` or `DOCKER_CONTEXT` must exist (refused with docker's reason otherwise); the current one is
    /// read with `docker context inspect`, which connects to nothing, and when docker cannot answer (not
    /// installed, a broken config) the inherited environment is left to decide and the first real docker call
    /// reports the problem.
    public static func select(
        context: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        runner: any CommandRunning, docker: String = "docker"
    ) async throws -> DockerEngine {
        let named: String?
        if let context, !context.isEmpty {
            named = context
        } else if let host = environment["DOCKER_HOST"], !host.isEmpty {
            return .inherited
        } else if let fromEnvironment = environment["DOCKER_CONTEXT"], !fromEnvironment.isEmpty {
            named = fromEnvironment
        } else {
            named = nil
        }
        let inspect = Command(docker, ["context", "inspect", "--format", inspectFormat] + (named.map { [$0] } ?? []), timeout: .seconds(30))
        guard let named else {
            guard let result = try? await runner.run(inspect), result.termination.isSuccess,
                  let current = parse(result.stdoutText).context else { return .inherited }
            return DockerEngine(context: current)
        }
        let result = try await runner.run(inspect)
        guard result.termination.isSuccess else {
            let reason = result.stderrText.split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(result.termination)"
            let source = context == nil ? " (DOCKER_CONTEXT)" : ""
            throw UpshiftError.usage("docker context \(named)\(source) cannot be used: \(reason)", hint: "`docker context ls` lists the contexts")
        }
        return DockerEngine(context: named)
    }

    /// Refuses (exit 64, nothing changed) when the engine is not on this host.
    /// - Parameter command: what was asked, for the message (`pg-upgrade`).
    public static func requireLocal(_ command: String, runner: any CommandRunning) async throws {
        let endpoint = try await current(runner: runner)
        guard endpoint.isLocal else {
            let source: String
            switch endpoint.context {
            case nil: source = "docker talks to \(endpoint.host) (DOCKER_HOST or the docker context)"
            case "default"?: source = "docker talks to \(endpoint.host) (DOCKER_HOST or -H)"
            case let name?: source = "docker context \(name) talks to \(endpoint.host)"
            }
            throw UpshiftError.usage(
                "\(command) needs the docker engine on this host, but \(source): the window reaches the database on this host's network and writes dumps to this host's disk, so it would fail after the application stopped; nothing was changed",
                hint: "run upshift on the engine's host itself (for example over ssh there), or choose a local engine with --context NAME / DOCKER_CONTEXT (`docker context ls`)")
        }
    }
}
