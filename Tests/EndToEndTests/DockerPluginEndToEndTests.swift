import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport

/// `docker upshift …` as a user runs it: the built binary installed as the Docker CLI plugin `docker-upshift` in a
/// private `DOCKER_CONFIG`, reaching the test engine only through a docker context (`upshift-e2e`, pointing at
/// `$DOCKER_HOST`), never through `DOCKER_HOST` itself. Its output must be what `upshift` prints.
@Suite(.serialized)
struct DockerPluginEndToEndTests {
    static let hasDockerClient: Bool = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/docker") } ?? false

    /// A private docker config with the plugin installed and the contexts this suite uses.
    final class PluginConfig: Sendable {
        let directory: String

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-plugin-e2e-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory + "/cli-plugins", withIntermediateDirectories: true)
            let binary = try #require(E2EEnvironment.upshiftBinary, "the upshift binary was not found")
            try FileManager.default.createSymbolicLink(atPath: directory + "/cli-plugins/docker-upshift", withDestinationPath: binary)
            try await docker(["context", "create", "upshift-e2e", "--docker", "host=\(E2EEnvironment.dockerHost)"]).checked("context create upshift-e2e")
            try await docker(["context", "create", "upshift-e2e-remote", "--docker", "host=ssh://upshift@127.0.0.1"]).checked("context create upshift-e2e-remote")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// `docker ARGS` with this config and no `DOCKER_HOST`/`DOCKER_CONTEXT`: the engine comes from the context.
        func docker(_ arguments: [String], workingDirectory: String? = nil) async throws -> E2EOutput {
            let command = Command(
                "docker", arguments, environment: ["DOCKER_CONFIG": directory], unsetEnvironment: ["DOCKER_HOST", "DOCKER_CONTEXT"],
                workingDirectory: workingDirectory, timeout: .seconds(600))
            return E2EOutput(try await E2EEnvironment.runner.run(command))
        }

        /// The built `upshift` itself, with the same config and no `DOCKER_HOST`.
        func upshift(_ arguments: [String], workingDirectory: String, environment: [String: String] = [:]) async throws -> E2EOutput {
            let binary = try #require(E2EEnvironment.upshiftBinary)
            let command = Command(
                binary, arguments, environment: environment.merging(["DOCKER_CONFIG": directory]) { $1 },
                unsetEnvironment: ["DOCKER_HOST", "DOCKER_CONTEXT"].filter { environment[$0] == nil },
                workingDirectory: workingDirectory, timeout: .seconds(600))
            return E2EOutput(try await E2EEnvironment.runner.run(command))
        }
    }

    /// Run ids and clock times differ between two runs of the same plan; nothing else may.
    static func normalise(_ text: String) -> String {
        text.replacingOccurrences(of: #"\d{8}-\d{6}-[0-9a-f]{4}"#, with: "<run>", options: .regularExpression)
            .replacingOccurrences(of: #"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?"#, with: "<time>", options: .regularExpression)
            // Sizes read from the live server (pg_database_size) move between two runs: statistics, WAL.
            .replacingOccurrences(of: #"\d+(\.\d+)? (B|KiB|MiB|GiB)\b"#, with: "<size>", options: .regularExpression)
    }

    /// A rollback in a fresh shell where docker points elsewhere: the run recorded its engine (`engine.json`).
    /// Named explicitly (`DOCKER_CONTEXT`), another engine is refused with exit 64 and nothing is undone; left to
    /// the current context (`docker context use`), the rollback follows the run's own context. The other engine
    /// is the same daemon under another socket path, so only upshift's record can tell them apart.
    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd && hasDockerClient, "\(E2EEnvironment.skipReason), or no docker client"))
    func rollbackFollowsTheRunsEngine() async throws {
        let config = try await PluginConfig()
        let socket = try #require(E2EEnvironment.dockerHost.hasPrefix("unix://") ? String(E2EEnvironment.dockerHost.dropFirst("unix://".count)) : nil, "the test engine is not on a unix socket")
        let alias = config.directory + "/alias.sock"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: socket)
        try await config.docker(["context", "create", "upshift-e2e-alias", "--docker", "host=unix://\(alias)"]).checked("context create upshift-e2e-alias")
        try await E2EDeployment.with(sample: "generic", namePrefix: "engine") { deployment in
            try await deployment.up(["db"])
            #expect(try await StatusE2E.waitForCluster(deployment).major == 15)
            let upgrade = try await config.upshift(["--context", "upshift-e2e", "pg-upgrade", "--to", "18", "--yes"], workingDirectory: deployment.path)
            try #require(upgrade.exitCode == 0, "\(upgrade.stderr.suffix(2000))")
            let run = try #require(E2EUpgrade.runIDs(deployment).last)
            let recorded = try JSONSerialization.jsonObject(with: Data(try deployment.read(".upshift/runs/\(run)/engine.json").utf8)) as? [String: String]
            #expect(recorded == ["context": "upshift-e2e", "host": "unix://\(socket)"], "\(String(describing: recorded))")

            let refused = try await config.upshift(["rollback", "--yes"], workingDirectory: deployment.path, environment: ["DOCKER_CONTEXT": "upshift-e2e-alias"])
            #expect(refused.exitCode == 64, "\(refused)")
            #expect(refused.stderr.contains("ran on the docker engine at unix://\(socket) (docker context upshift-e2e)") && refused.stderr.contains("nothing was rolled back"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--context upshift-e2e"), "\(refused.stderr)")
            #expect(try await E2EUpgrade.serverMajor(deployment, service: "db") == 18, "the refused rollback changed something")

            try await config.docker(["context", "use", "upshift-e2e-alias"]).checked("context use")
            let followed = try await config.upshift(["rollback", "--yes"], workingDirectory: deployment.path)
            #expect(followed.exitCode == 0, "\(followed.stderr.suffix(2000))")
            #expect(followed.stderr.contains("rolling back there, not on the current unix://\(alias)"), "\(followed.stderr.suffix(2000))")
            #expect(try await E2EUpgrade.serverMajor(deployment, service: "db") == 15)
        }
    }

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd && hasDockerClient, "\(E2EEnvironment.skipReason), or no docker client"))
    func dockerUpshiftThroughAContextMatchesUpshift() async throws {
        let config = try await PluginConfig()
        try await E2EDeployment.with(sample: "generic", namePrefix: "plugin") { deployment in
            try await deployment.up(["db"])
            #expect(try await StatusE2E.waitForCluster(deployment).major == 15)

            // The reference: upshift as the suite always runs it (DOCKER_HOST = the test engine).
            let plain = try await deployment.upshift(["status"])
            try #require(plain.exitCode == 0, "\(plain)")
            #expect(plain.stdout.contains("on disk    PostgreSQL 15"))

            // docker's --context, handed to the plugin in argv before its name.
            let viaFlag = try await config.docker(["--context", "upshift-e2e", "upshift", "status"], workingDirectory: deployment.path)
            #expect(viaFlag.exitCode == 0, "\(viaFlag)")
            #expect(viaFlag.stdout == plain.stdout)
            // upshift's own --context, leading like compose's options, and after the subcommand.
            let viaOption = try await config.upshift(["--context", "upshift-e2e", "status"], workingDirectory: deployment.path)
            #expect(viaOption.stdout == plain.stdout, "\(viaOption)")
            let viaPluginOption = try await config.docker(["upshift", "status", "--context", "upshift-e2e", "-C", deployment.path], workingDirectory: "/")
            #expect(viaPluginOption.stdout == plain.stdout, "\(viaPluginOption)")

            // The current context (`docker context use`), with no option at all.
            try await config.docker(["context", "use", "upshift-e2e"]).checked("context use")
            let viaCurrent = try await config.docker(["upshift", "status"], workingDirectory: deployment.path)
            #expect(viaCurrent.stdout == plain.stdout, "\(viaCurrent)")

            // The dry-run plan: same steps, same commands.
            let dryPlain = try await deployment.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
            try #require(dryPlain.exitCode == 0, "\(dryPlain)")
            let dryPlugin = try await config.docker(["upshift", "pg-upgrade", "--to", "18", "--dry-run"], workingDirectory: deployment.path)
            #expect(dryPlugin.exitCode == 0, "\(dryPlugin)")
            #expect(Self.normalise(dryPlugin.stdout) == Self.normalise(dryPlain.stdout))

            // A context on another host is used as the run's engine (remote engines, `RemoteEngineEndToEndTests`): this
            // one has no ssh server, so the dry run stops at preflight's first docker call with docker's reason.
            let remote = try await config.docker(["--context", "upshift-e2e-remote", "upshift", "pg-upgrade", "--to", "18", "--dry-run"], workingDirectory: deployment.path)
            #expect(remote.exitCode != 0, "\(remote)")
            #expect(remote.stderr.contains("ssh") && remote.stderr.contains("127.0.0.1") && remote.stderr.contains("nothing was changed"), "\(remote)")
            // A context that does not exist: upshift says so (64), naming it.
            let missing = try await config.docker(["--context", "upshift-e2e-none", "upshift", "status"], workingDirectory: deployment.path)
            #expect(missing.exitCode == 64 && missing.stderr.contains("upshift-e2e-none"), "\(missing)")
            // The database was never touched.
            let after = try await deployment.upshift(["status"])
            #expect(after.stdout.contains("on disk    PostgreSQL 15"))
        }
    }
}
