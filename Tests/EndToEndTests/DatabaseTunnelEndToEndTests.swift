import Foundation
import Testing
import UpshiftCompose
import UpshiftCore
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport

/// `DatabaseTunnel` on its own, against a real db container: the relay must carry the protocol both ways
/// (megabytes each way, several connections at once), follow the service to a recreated container, end the
/// server session of a client that leaves without a goodbye (`PQping`), and leave nothing in the container:
/// no relay process, and no orphan for the postmaster (PID 1) to reap, which it would take for a crashed
/// backend (the first relay script did exactly that).
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct DatabaseTunnelEndToEndTests {
    @Test func relaysConnectionsFollowsTheServiceAndLeavesNothingBehind() async throws {
        try await E2EDeployment.with(sample: "generic", namePrefix: "tunnel") { d in
            try await d.up(["db"])
            let password = try #require(try d.read(".env").split(separator: "\n").first { $0.hasPrefix("DB_PASSWORD=") }?.dropFirst("DB_PASSWORD=".count))
            let port = try PgUpgradePreflight.freePort()
            let tunnel = try DatabaseTunnel(port: port, project: d.projectName, service: "db", engine: DockerEngine(context: nil))
            defer { tunnel.stop() }
            let parameters = ConnectionParameters(host: "127.0.0.1", port: port, user: "app", password: String(password), database: "app", connectTimeout: 20)
            try await Connection.waitUntilReady(parameters, deadline: .now + .seconds(60))

            // Several connections at once, megabytes each way.
            let sizes = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        try await Blocking.run { () throws -> String? in
                            let connection = try Connection(parameters)
                            let big = String(repeating: "x", count: 2_000_000 + index)
                            _ = try connection.query("CREATE TEMP TABLE t AS SELECT '\(big)'::text AS v")
                            let back = try connection.query("SELECT repeat(v, 2) AS v FROM t").single().string("v")
                            return "\(big.count):\(back?.count ?? -1)"
                        }
                    }
                }
                var all: [String?] = []
                for try await size in group { all.append(size) }
                return all
            }
            #expect(Set(sizes.compactMap { $0 }) == Set((0..<4).map { "\(2_000_000 + $0):\(2 * (2_000_000 + $0))" }))

            // A client that leaves without a goodbye does not keep a server session, nor a relay.
            for _ in 0..<5 { _ = await Blocking.run { Connection.ping(parameters) } }
            try await Self.expectNothingLeft(d)

            // The service's container is replaced: the tunnel finds the new one.
            let before = try await d.containerID("db")
            try await d.composeChecked(["up", "-d", "--wait", "--force-recreate", "db"])
            #expect(try await d.containerID("db") != before)
            try await Connection.waitUntilReady(parameters, deadline: .now + .seconds(60))
            let one = try await Blocking.run { () throws -> String? in try Connection(parameters).query("SELECT 1::text AS one").single().string("one") }
            #expect(one == "1")
            try await Self.expectNothingLeft(d)
        }
    }

    /// No relay process in the db container and no client session but psql's own, within 30 s.
    static func expectNothingLeft(_ d: E2EDeployment) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var leftovers = ""
        var sessions = ""
        repeat {
            let top = try await d.exec("db", ["sh", "-c", "ps -eo args 2>/dev/null || ps"]).stdout
            leftovers = top.split(whereSeparator: \.isNewline).filter { $0.contains("dd ") || $0.contains("dev/tcp") }.joined(separator: "\n")
            sessions = try await d.exec("db", ["psql", "-X", "-At", "-U", "app", "-d", "app", "-c",
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if leftovers.isEmpty && sessions == "0" { return }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        #expect(leftovers.isEmpty, "relay processes left in the container:\n\(leftovers)")
        #expect(sessions == "0", "server sessions left by the tunnel's clients: \(sessions)")
        let logs = try await d.compose(["logs", "--no-color", "db"]).stdout
        #expect(!logs.contains("terminated by signal"), "the server restarted as after a crash:\n\(logs.suffix(2000))")
    }
}
