import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport

/// `upshift status --context A --context B` (the fleet view) as a user runs it: the built binary with a private
/// `DOCKER_CONFIG` holding two contexts, one on the test engine with a real deployment up, one on a socket
/// nothing listens on. The live deployment gets its row (majors, last run), the dead context an error row,
/// and the exit code is 69 because one context could not be reached.
@Suite(.serialized)
struct FleetStatusEndToEndTests {
    static let hasDockerClient: Bool = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/docker") } ?? false

    /// A private docker config with a live and a dead context, both named uniquely; removed on every path.
    final class Contexts: Sendable {
        let directory: String
        let live: String
        let dead: String

        init() async throws {
            let suffix = String(UUID().uuidString.prefix(8)).lowercased()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-fleet-e2e-\(suffix)").path
            live = "fleet-live-\(suffix)"
            dead = "fleet-dead-\(suffix)"
            try FileManager.default.createDirectory(atPath: directory + "/cli-plugins", withIntermediateDirectories: true)
            let binary = try #require(E2EEnvironment.upshiftBinary, "the upshift binary was not found")
            try FileManager.default.createSymbolicLink(atPath: directory + "/cli-plugins/docker-upshift", withDestinationPath: binary)
            try await docker(["context", "create", live, "--docker", "host=\(E2EEnvironment.dockerHost)"]).checked("context create \(live)")
            // A socket path inside our own folder that nothing listens on: docker fails at once, no timeout.
            try await docker(["context", "create", dead, "--docker", "host=unix://\(directory)/nothing.sock"]).checked("context create \(dead)")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// `docker ARGS` with this config (the plugin installed) and no `DOCKER_HOST`/`DOCKER_CONTEXT`.
        func docker(_ arguments: [String]) async throws -> E2EOutput {
            let command = Command(
                "docker", arguments, environment: ["DOCKER_CONFIG": directory], unsetEnvironment: ["DOCKER_HOST", "DOCKER_CONTEXT"],
                workingDirectory: "/", timeout: .seconds(900))
            return E2EOutput(try await E2EEnvironment.runner.run(command))
        }

        /// The built `upshift` with this config and no `DOCKER_HOST`: engines come from the contexts only.
        func upshift(_ arguments: [String]) async throws -> E2EOutput {
            let binary = try #require(E2EEnvironment.upshiftBinary)
            let command = Command(
                binary, arguments, environment: ["DOCKER_CONFIG": directory], unsetEnvironment: ["DOCKER_HOST", "DOCKER_CONTEXT"],
                workingDirectory: "/", timeout: .seconds(900))
            return E2EOutput(try await E2EEnvironment.runner.run(command))
        }
    }

    static func rows(_ output: E2EOutput) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]], "not a JSON array: \(output)")
    }

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd && hasDockerClient, "\(E2EEnvironment.skipReason), or no docker client"))
    func liveAndDeadContexts() async throws {
        let contexts = try await Contexts()
        try await E2EDeployment.with(sample: "generic", namePrefix: "fleet") { deployment in
            try await deployment.up(["db"])
            #expect(try await StatusE2E.waitForCluster(deployment).major == 15)
            let backup = try await deployment.upshift(["backup"])
            try #require(backup.exitCode == 0, "\(backup)")
            let runID = try #require(
                try AuditTrailE2E.lastRunID(deployment.path), "backup left no run in the audit trail")

            let json = try await contexts.upshift(["status", "--context", contexts.live, "--context", contexts.dead, "--json"])
            #expect(json.exitCode == 69, "\(json)")
            #expect(json.stderr.contains("1 of 2 contexts could not be reached (\(contexts.dead))"), "\(json)")
            let rows = try Self.rows(json)
            // Other suites' deployments may share the engine: only ours is asserted on.
            let mine = try #require(rows.first { $0["project"] as? String == deployment.projectName }, "no row for \(deployment.projectName): \(json.stdout)")
            #expect(mine["context"] as? String == contexts.live)
            #expect(mine["workingDirectory"] as? String == deployment.path)
            #expect(mine["databaseService"] as? String == "db")
            #expect(mine["imageMajor"] as? Int == 15 && mine["diskMajor"] as? Int == 15)
            #expect(mine["error"] == nil && mine["keptItems"] != nil)
            let lastRun = try #require(mine["lastRun"] as? [String: Any])
            #expect(lastRun["id"] as? String == runID && lastRun["kind"] as? String == "backup")
            let deadRows = rows.filter { $0["context"] as? String == contexts.dead }
            #expect(deadRows.count == 1 && deadRows.first?["project"] == nil)
            #expect((deadRows.first?["error"] as? String)?.contains("Cannot connect to the Docker daemon") == true, "\(deadRows)")
            // The live context's rows come first, in the order the contexts were given.
            #expect(rows.last?["context"] as? String == contexts.dead)

            let table = try await contexts.upshift(["status", "--context", contexts.live, "--context", contexts.dead])
            #expect(table.exitCode == 69, "\(table)")
            let line = try #require(table.stdout.split(separator: "\n").first { $0.contains(" \(deployment.projectName) ") }, "\(table)")
            #expect(line.hasPrefix(contexts.live) && line.contains(" db ") && line.contains("backup") && line.contains(runID), "\(line)")
            #expect(table.stdout.contains("\(contexts.dead): context not reached: Cannot connect to the Docker daemon"), "\(table)")
            #expect(!table.stdout.contains("MISMATCH"), "\(table)")
            // The sample's database password (compose/generic/.env) is in no output.
            for output in [json, table] {
                #expect(!output.stdout.contains("Sample-Generic-DB-pw") && !output.stderr.contains("Sample-Generic-DB-pw"))
            }

            // Only status looks at several engines: any other command refuses, before anything runs.
            let refused = try await contexts.upshift(["pg-upgrade", "--to", "16", "--context", contexts.live, "--context", contexts.dead, "-C", deployment.path])
            #expect(refused.exitCode == 64 && refused.stderr.contains("upshift pg-upgrade works on one docker engine"), "\(refused)")
            #expect(try await StatusE2E.waitForCluster(deployment).major == 15)

            // The live context alone answers: exit 0.
            let alone = try await contexts.upshift(["status", "--fleet", "--context", contexts.live, "--json"])
            #expect(alone.exitCode == 0, "\(alone)")
            #expect(try Self.rows(alone).contains { $0["project"] as? String == deployment.projectName })

            // As a Docker CLI plugin: docker's own --context picks the engine, upshift's repeated one the fleet.
            let viaDocker = try await contexts.docker(["--context", contexts.live, "upshift", "status", "--fleet", "--json"])
            #expect(viaDocker.exitCode == 0, "\(viaDocker)")
            let viaDockerRows = try Self.rows(viaDocker)
            #expect(viaDockerRows.contains { $0["context"] as? String == contexts.live && $0["project"] as? String == deployment.projectName }, "\(viaDocker)")
            let pluginFleet = try await contexts.docker(["upshift", "status", "--context", contexts.live, "--context", contexts.dead, "--json"])
            #expect(pluginFleet.exitCode == 69, "\(pluginFleet)")
            let pluginRows = try Self.rows(pluginFleet)
            #expect(pluginRows.contains { $0["project"] as? String == deployment.projectName } && pluginRows.last?["context"] as? String == contexts.dead, "\(pluginFleet)")
        }
    }
}

/// The newest run id in a project's audit log, read from the file (`run.started` events), not through upshift.
enum AuditTrailE2E {
    static func lastRunID(_ projectDirectory: String) throws -> String? {
        let text = try String(contentsOfFile: projectDirectory + "/.upshift/audit.jsonl", encoding: .utf8)
        var last: String?
        for line in text.split(whereSeparator: \.isNewline) {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let run = object["run"] as? String else { continue }
            last = run
        }
        return last
    }
}
