import Foundation
import Testing
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 16, item 5: during the window nobody but upshift reaches the old server, and everyone is let in again
/// after. An "intruder" container on the project's network (not part of the project, so upshift never stops
/// it) and a client on the host behind a published port try to write while upshift is held at the fault
/// point right after the dump (`UPSHIFT_FAULT_POINTS=after:dump`): a write that landed there would be in
/// neither the dump nor the fingerprint and would be gone after "verified". Run 1 is also held right after the
/// new cluster was restored (`after:restore`): a write there would be in a cluster not yet verified, lost if
/// the verification fails and the run rolls back.
///
/// Run 1 (no published port): the running container only changes networks; the run is continued and
/// completes; the intruder writes again to the new server. Run 2 (a published port): the container is
/// recreated with its port closed; upshift is killed there, and after `rollback` both clients write again.
@Suite(.serialized)
struct WindowIsolationEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func otherClientsKeptOutAndLetBackIn() async throws {
        try await E2EUpgrade.timed("window isolation: intruder on the network, client on a published port") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "window") { d in
                let password = try #require(try E2EUpgrade.envValue(d, "DB_PASSWORD"))
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 1)
                _ = try await E2EUpgrade.psql(d, service: "db", "CREATE TABLE intrusions (label text PRIMARY KEY)")
                let intruder = try await Intruder.start(network: d.projectName + "_default", password: password)
                do {
                    try await Self.runs(d, intruder: intruder, password: password)
                    await intruder.remove()
                } catch {
                    await intruder.remove()
                    throw error
                }
            }
        }
    }

    static func runs(_ d: E2EDeployment, intruder: Intruder, password: String) async throws {
        #expect(try await intruder.write("before"), "the intruder cannot write before the run: the test setup is wrong")

        // Run 1: no published port — the running container moves to the private network.
        // Held again once the new cluster is restored: it must be out of reach too until it is verified, or a
        // write there is lost when a failed verification rolls back.
        let first = try FaultProcess(["pg-upgrade", "--to", "18", "--yes"], workingDirectory: d.path,
                                     environment: [FaultPoint.variable: "after:dump,after:restore"])
        try await first.waitForFaultPoint("after:dump")
        let duringFirst = try await intruder.write("window-1")
        first.send(SIGCONT)
        try await first.waitForFaultPoint("after:restore")
        let intoNew = try await intruder.write("new-before-verify")
        first.send(SIGCONT)
        let firstResult = try await first.wait(timeout: .seconds(600))
        #expect(!duringFirst, "a client on the project network wrote to the old server after the dump")
        #expect(!intoNew, "a client on the project network wrote to the new server before it was verified")
        try #require(!firstResult.signaled && firstResult.status == 0, "\(firstResult)")
        let runID = try #require(E2EUpgrade.runIDs(d).last)
        let isolate = try #require(try E2EUpgrade.journal(d, runID).first { $0["type"] as? String == "done" && $0["step"] as? String == "isolate-db" })
        let summary = ((isolate["outcome"] as? [String: Any])?["summary"] as? String) ?? ""
        #expect(summary.contains("no other session") && summary.contains("detached from \(d.projectName)_default"), "isolate-db: \(summary)")
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
        #expect(try await intruder.write("after-upgrade"), "the intruder is not let in again after the upgrade")
        #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT string_agg(label, ',' ORDER BY label) FROM intrusions") == "after-upgrade,before")
        let networksAfterRun = try await Self.windowNetworks(d)
        #expect(networksAfterRun.isEmpty, "a window network remains: \(networksAfterRun)")
        let rollback = try await d.upshift(["rollback", "--yes"])
        try #require(rollback.exitCode == 0, "\(rollback)")
        #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT string_agg(label, ',' ORDER BY label) FROM intrusions") == "before")

        // Run 2: a published port — the container is recreated with it closed; killed there, then rolled back.
        let compose = try d.read("docker-compose.yml")
        try d.write("docker-compose.yml", compose.replacingOccurrences(of: "    stop_signal: SIGINT\n", with: "    ports: [\"5432\"]\n    stop_signal: SIGINT\n"))
        try await d.up()
        let port = try await d.publishedPort("db", 5432)
        let host = HostClient(port: port, password: password)
        try #require(await host.write("host-before"), "the host client cannot write through port \(port) before the run")
        let second = try FaultProcess(["pg-upgrade", "--to", "18", "--yes"], workingDirectory: d.path,
                                      environment: [FaultPoint.variable: "after:dump"])
        try await second.waitForFaultPoint("after:dump")
        let intruderDuring = try await intruder.write("window-2")
        let hostDuring = await host.write("host-window")
        second.send(SIGKILL)
        _ = try await second.wait(timeout: .seconds(60))
        #expect(!intruderDuring, "a client on the project network wrote to the recreated old server")
        #expect(!hostDuring, "a client wrote through the published port \(port) during the window")
        let undo = try await d.upshift(["rollback", "--yes"])
        try #require(undo.exitCode == 0, "\(undo)")
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        #expect(try await d.publishedPort("db", 5432) > 0)
        let hostAgain = HostClient(port: try await d.publishedPort("db", 5432), password: password)
        #expect(await hostAgain.write("host-after"), "the published port is not open again after rollback")
        #expect(try await intruder.write("after-rollback"), "the intruder is not let in again after rollback")
        #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT string_agg(label, ',' ORDER BY label) FROM intrusions") == "after-rollback,before,host-after,host-before")
        #expect(try await Self.windowNetworks(d).isEmpty, "a window network remains after rollback")
    }

    /// Networks upshift made for this deployment's runs (none may outlive a run or its undo); other tests'
    /// runs may hold theirs meanwhile.
    static func windowNetworks(_ d: E2EDeployment) async throws -> [String] {
        let out = try await E2EEnvironment.docker(["network", "ls", "--format", "{{.Name}}", "--filter", "name=upshift-window-"])
        let mine = Set(E2EUpgrade.runIDs(d).map { "upshift-window-\($0)" })
        return out.stdout.split(whereSeparator: \.isNewline).map(String.init).filter(mine.contains)
    }
}

/// A container on the project's network that is not part of the project: upshift never stops it.
struct Intruder {
    var name: String
    var password: String

    static func start(network: String, password: String) async throws -> Intruder {
        let name = E2EEnvironment.uniqueName("intruder")
        let run = try await E2EEnvironment.docker(["run", "-d", "--name", name, "--network", network, "--entrypoint", "sleep", "postgres:15", "infinity"])
        guard run.exitCode == 0 else { throw E2EFailure("cannot start the intruder: \(run)") }
        return Intruder(name: name, password: password)
    }

    /// Inserts `label` into `intrusions` on `db` by the service name; false when it could not.
    func write(_ label: String) async throws -> Bool {
        let result = try await E2EEnvironment.docker(
            ["exec", "-e", "PGPASSWORD", "-e", "PGCONNECT_TIMEOUT=3", name, "psql", "-h", "db", "-U", "app", "-d", "app", "-v", "ON_ERROR_STOP=1", "-c", "INSERT INTO intrusions VALUES ('\(label)')"],
            environment: ["PGPASSWORD": password])
        return result.exitCode == 0
    }

    func remove() async {
        _ = try? await E2EEnvironment.docker(["rm", "-f", name])
    }
}

/// A client on the engine's host behind the published port (libpq, as any tool there would connect).
struct HostClient {
    var port: Int
    var password: String

    func write(_ label: String) async -> Bool {
        let parameters = ConnectionParameters(host: "127.0.0.1", port: port, user: "app", password: password, database: "app", connectTimeout: 3)
        return await Blocking.run {
            do {
                _ = try Connection(parameters).execute("INSERT INTO intrusions VALUES ('\(label)')")
                return true
            } catch {
                return false
            }
        }
    }
}
