import Foundation
import UpshiftPostgres
import UpshiftSupport

/// Keeps every client but upshift away from the old server for the window, and proves it.
///
/// Why: the application is stopped, but anything else that reaches the database — a published port, another
/// container on its network, a cron job, an admin's psql — could write after the dump. Such a write is in
/// neither the dump nor the fingerprint, and is gone after "verified". So the old server is moved onto a
/// private network of its own (`upshift-window-<run>`), its published ports are closed, the sessions still
/// open are ended, and before going on upshift checks from the outside: no other session, the service's name
/// unreachable from each network it left, every formerly published port silent. The undo recreates the
/// container from the user's files, which lets everyone in again, and removes the private network.
public struct WindowIsolation: Sendable, Hashable, Codable {
    /// How the container is taken off its networks.
    public enum Approach: String, Sendable, Hashable, Codable {
        /// Attached to the private network and detached from the others while it runs: no restart. Used when
        /// upshift reaches containers at their addresses and the container publishes no port (a published port
        /// follows the container to its new network: it can only go with a recreate).
        case swapNetworks
        /// Recreated with the window's override: private network, ports closed (or only 127.0.0.1 for upshift).
        case recreate
        /// Recreated with ports closed but its networks kept: method invoke runs InvenTree's own containers,
        /// which reach the database by its service name. Other sessions are still checked for before the stop.
        case portsOnly
    }

    public var approach: Approach
    /// The private network (nil for `portsOnly`).
    public var network: String?
    /// What the container was reachable through before the window.
    public var before: ContainerExposure
    /// The address upshift reached the isolated server at, when it reaches containers by address: the window's
    /// steps up to stop-db connect there without asking docker again (`PgUpgradeWorld.isolatedServerConnection`).
    public var address: String?

    /// The private network of a run.
    public static func networkName(runID: String) -> String { "upshift-window-\(runID)" }

    /// The isolation for a container exposed as `exposure` (decided in preflight for the plan, again in the
    /// step from the container as it is then).
    public init(exposure: ContainerExposure, reachesDirectly: Bool, invoke: Bool, runID: String) {
        approach = Self.approach(reachesDirectly: reachesDirectly, invoke: invoke, exposure: exposure)
        network = approach == .portsOnly ? nil : Self.networkName(runID: runID)
        before = exposure
    }

    public static func approach(reachesDirectly: Bool, invoke: Bool, exposure: ContainerExposure) -> Approach {
        if invoke { return .portsOnly }
        if reachesDirectly && exposure.bindings.isEmpty { return .swapNetworks }
        return .recreate
    }

    /// What the plan says about it.
    public var planNote: String {
        let left = before.networks.keys.sorted().joined(separator: ", ")
        let ports = before.bindings.map { "\($0.hostIP.isEmpty ? "*" : $0.hostIP):\($0.hostPort)" }.joined(separator: ", ")
        switch approach {
        case .swapNetworks:
            return "other clients kept out: the running container moves from \(left.isEmpty ? "its networks" : left) to \(network ?? "a private network") (no restart)"
        case .recreate:
            return "other clients kept out: recreated on \(network ?? "a private network") only" + (ports.isEmpty ? "" : ", published ports \(ports) closed")
        case .portsOnly:
            return "published ports \(ports.isEmpty ? "(none)" : ports) closed; the networks stay (method invoke needs them): other sessions are refused at the stop instead"
        }
    }

    // MARK: - The private network

    /// Creates the run's private network (labelled with the run); an existing one is reused.
    static func createNetwork(_ name: String, runID: String, runner: any CommandRunning) async throws {
        let exists = try await runner.run(Command("docker", ["network", "inspect", "--format", "{{.Name}}", name], timeout: .seconds(60)))
        if exists.termination.isSuccess { return }
        let result = try await runner.run(Command("docker", ["network", "create", "--label", "com.upshift.run=\(runID)", name], timeout: .seconds(60)))
        try result.check()
    }

    /// Removes the private network; a missing one is fine. Returns a problem to report, or nil.
    static func removeNetwork(_ name: String, runner: any CommandRunning) async -> String? {
        guard let exists = try? await runner.run(Command("docker", ["network", "inspect", "--format", "{{.Name}}", name], timeout: .seconds(60))),
              exists.termination.isSuccess
        else { return nil }
        guard let result = try? await runner.run(Command("docker", ["network", "rm", name], timeout: .seconds(60))) else {
            return "could not run docker network rm \(name)"
        }
        return result.termination.isSuccess ? nil : "could not remove the window network \(name): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))"
    }

    /// Attaches the running container to the private network, then detaches it from every other one.
    func swapNetworks(container: String, runner: any CommandRunning) async throws {
        guard let network else { return }
        try await runner.run(Command("docker", ["network", "connect", network, container], timeout: .seconds(60))).check()
        for name in before.networks.keys.sorted() where name != network {
            try await runner.run(Command("docker", ["network", "disconnect", name, container], timeout: .seconds(60))).check()
        }
    }

    // MARK: - The override

    /// The window's compose override for `service`, YAML (compose's `!override`/`!reset` replace the user's
    /// ports and networks instead of appending to them). `hostPort`: publish on 127.0.0.1 for upshift.
    public static func overrideText(service: String, hostPort: Int?, network: String?, containerPort: Int = 5432) -> String {
        var lines = ["services:", "  \(quoted(service)):", "    restart: \"no\""]
        if let hostPort {
            lines += ["    ports: !override", "      - \(quoted("127.0.0.1:\(hostPort):\(containerPort)"))"]
        } else {
            lines.append("    ports: !reset []")
        }
        if let network {
            lines += ["    networks: !override", "      upshift-window: {}", "networks:", "  upshift-window:", "    name: \(quoted(network))", "    external: true"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the override (0600), creating the private network it names.
    static func writeOverride(path: String, service: String, hostPort: Int?, network: String?, runID: String, runner: any CommandRunning) async throws {
        if let network { try await createNetwork(network, runID: runID, runner: runner) }
        let text = overrideText(service: service, hostPort: hostPort, network: network)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw UpshiftError("cannot write the compose override \(path)")
        }
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    // MARK: - Proof

    /// Client sessions other than the caller's (`pid user@address application`). A readiness probe
    /// (`pg_isready`, the usual compose healthcheck, run inside the container itself) is not one: it connects
    /// and leaves without a query, so it cannot write; counting it failed a window at random when the
    /// healthcheck fired at the moment of the check.
    static func otherSessions(_ parameters: ConnectionParameters) async throws -> [String] {
        try await Blocking.run { () throws -> [String] in
            let connection = try Connection(parameters)
            let result = try connection.query("""
                SELECT pid::text, coalesce(usename, ''), coalesce(host(client_addr), 'local'), coalesce(application_name, '')
                FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                AND NOT (application_name = 'pg_isready' AND (client_addr IS NULL OR host(client_addr) IN ('127.0.0.1', '::1')))
                ORDER BY pid
                """)
            return result.rows.map { row in
                let v = row.values.map { $0 ?? "" }
                return "pid \(v[0]) \(v[1])@\(v[2])" + (v[3].isEmpty ? "" : " (\(v[3]))")
            }
        }
    }

    /// Ends every other client session (they came in before the window) and waits until none is left.
    static func endOtherSessions(_ parameters: ConnectionParameters, deadline: ContinuousClock.Instant) async throws -> Int {
        let ended = try await Blocking.run { () throws -> Int in
            let connection = try Connection(parameters)
            let result = try connection.query("""
                SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                """)
            return Int(result.rows.first?.values.first.flatMap { $0 } ?? "0") ?? 0
        }
        while true {
            let left = try await otherSessions(parameters)
            if left.isEmpty { return ended }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("other sessions are still connected to the old server after they were ended: \(left.joined(separator: "; "))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The engine's word, read back after the change: the container is on no network it left and publishes no
    /// port but upshift's own 127.0.0.1 one (`allowedPort`). Why not a knock from a container on each network:
    /// an unknown name there is forwarded to the host's resolvers, and the answer "no such host" took 11 s of
    /// downtime on this machine. The knock from outside is the end-to-end test's (WindowIsolationEndToEndTests).
    func detachmentProblems(container: String, allowedPort: Int?, runner: any CommandRunning) async throws -> [String] {
        guard let now = try await ContainerExposure.inspect(container: container, runner: runner) else {
            return ["the container \(container) is gone"]
        }
        var findings: [String] = []
        if approach != .portsOnly {
            for name in before.networks.keys.sorted() where name != network && now.networks[name] != nil {
                findings.append("still attached to network \(name)")
            }
        }
        for binding in now.bindings where !(binding.hostIP == "127.0.0.1" && binding.hostPort == allowedPort) {
            findings.append("still publishes \(binding.hostIP.isEmpty ? "*" : binding.hostIP):\(binding.hostPort)")
        }
        return findings
    }

    /// Knocks at every port the container published before: must find nobody.
    func probePorts() async -> [String] {
        var findings: [String] = []
        for (host, port) in before.knockAddresses {
            let parameters = ConnectionParameters(host: host, port: port, user: "upshift-probe", password: nil, database: "postgres", connectTimeout: 2)
            let status = await Blocking.run { Connection.ping(parameters) }
            if status == .ok || status == .rejecting { findings.append("\(host):\(port) still answers (\(status.rawValue))") }
        }
        return findings
    }
}
