import Foundation
import Testing
import UpshiftCompose
import UpshiftCore
import UpshiftSupport
import UpshiftTestSupport

/// One engine for every child of a run: which one is chosen (`EngineEndpoint.select`, docker's own order), and
/// that every docker and compose command a flow builds carries it (`DockerEngineRunner`).
struct DockerEngineTests {
    static let inspect = ["docker", "context", "inspect", "--format", "{{.Name}}\t{{.Endpoints.docker.Host}}"]

    @Test func contextOptionMustExistAndIsPinned() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(Self.inspect + ["prod"], stdout: "prod\tunix:///run/prod.sock\n")
        let engine = try await EngineEndpoint.select(context: "prod", environment: ["DOCKER_HOST": "tcp://10.0.0.5:2375"], runner: runner)
        #expect(engine == DockerEngine(context: "prod"), "--context beats DOCKER_HOST, as docker's flag does")
        #expect(runner.argvs == [Self.inspect + ["prod"]])

        let missing = RecordingRunner(strict: true)
        missing.stub(Self.inspect + ["nope"], exit: 1, stderr: "context \"nope\": context not found: open …/meta.json: no such file or directory\n")
        do {
            _ = try await EngineEndpoint.select(context: "nope", environment: [:], runner: missing)
            Issue.record("a missing context was accepted")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage && error.message.contains("nope") && error.message.contains("context not found"))
        }
    }

    @Test func environmentDecidesLikeDocker() async throws {
        // DOCKER_HOST: the inherited environment already names the engine; nothing is asked.
        let quiet = RecordingRunner(strict: true)
        #expect(try await EngineEndpoint.select(context: nil, environment: ["DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "prod"], runner: quiet) == .inherited)
        #expect(quiet.argvs.isEmpty)

        let named = RecordingRunner(strict: true)
        named.stub(Self.inspect + ["prod"], stdout: "prod\tunix:///run/prod.sock\n")
        #expect(try await EngineEndpoint.select(context: nil, environment: ["DOCKER_CONTEXT": "prod"], runner: named) == DockerEngine(context: "prod"))

        // Neither: the current context (`docker context use`) is read once and pinned.
        let current = RecordingRunner(strict: true)
        current.stub(Self.inspect, stdout: "colima\tunix:///root/.colima/docker.sock\n")
        #expect(try await EngineEndpoint.select(context: nil, environment: [:], runner: current) == DockerEngine(context: "colima"))
        #expect(current.argvs == [Self.inspect])

        // docker cannot say (not installed, broken config): left to the environment, the first real call reports it.
        let broken = RecordingRunner(strict: true)
        broken.stub(["docker"], exit: 1, stderr: "boom")
        #expect(try await EngineEndpoint.select(context: nil, environment: [:], runner: broken) == .inherited)
    }

    @Test func appliedEngineOverridesTheInheritedHost() {
        let command = DockerEngine(context: "prod").applied(to: Command("docker", ["ps"]))
        #expect(command.environment["DOCKER_CONTEXT"] == "prod" && command.unsetEnvironment == ["DOCKER_HOST"])
        let child = LiveCommandRunner.environment(for: command, inherited: ["DOCKER_HOST": "tcp://10.0.0.5:2375", "PATH": "/bin"])
        #expect(child["DOCKER_CONTEXT"] == "prod" && child["DOCKER_HOST"] == nil && child["PATH"] == "/bin")
        #expect(DockerEngine.inherited.applied(to: Command("docker", ["ps"])) == Command("docker", ["ps"]))
        // A command that names its engine itself keeps it.
        let own = DockerEngine(context: "prod").applied(to: Command("docker", ["ps"], environment: ["DOCKER_HOST": "unix:///y.sock"]))
        #expect(own.environment == ["DOCKER_HOST": "unix:///y.sock"] && own.unsetEnvironment.isEmpty)
    }

    /// `--context X` and `DOCKER_CONTEXT=X` both end as `DOCKER_CONTEXT=X` (no `DOCKER_HOST`) on every command
    /// `status` runs: compose detection, config and ps, image inspects, helper containers.
    @Test(arguments: [("prod", [String: String]()), (nil, ["DOCKER_CONTEXT": "prod"])])
    func everyChildOfAFlowReachesTheSelectedEngine(_ option: String?, _ environment: [String: String]) async throws {
        let recording = RecordingRunner(strict: true)
        recording.stub(["docker", "context", "inspect"], stdout: "prod\tunix:///run/prod.sock\n")
        recording.stub(["docker", "compose"], stdout: #"{"Name":"inventree-db","Service":"inventree-db","State":"exited","ExitCode":1}"#)
        recording.stub(["docker", "compose", "version"], stdout: "2.29.0\n")
        recording.stub(["docker", "image", "inspect"], stdout: "sha256:abc\n")
        recording.stub(["docker", "run"], stdout: "13\n")
        recording.stub(["docker", "volume", "inspect"], stdout: "[]\n")
        let engine = try await EngineEndpoint.select(context: option, environment: environment, runner: recording)
        let runner = DockerEngineRunner(base: recording, engine: engine)
        try await EngineEndpoint.requireLocal("pg-upgrade", runner: runner)

        let fixture = ComposeFixtures.directory("inventree")
        let config = try ComposeFixtures.config("inventree")
        let location = ComposeProjectLocation(
            directory: fixture, files: ["\(fixture)/docker-compose.yml"], fileSource: .discovered, explicitProjectName: nil,
            envFiles: ["\(fixture)/.env"])
        // `detect` looks for a docker executable on PATH first: an empty one in a temp folder stands in.
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-engine-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: bin) }
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: bin + "/docker", contents: Data(), attributes: [.posixPermissions: 0o755]))
        let tool = try await ComposeCLI.detect(runner: runner, environment: ["PATH": bin])
        let cli = ComposeCLI(runner: runner, tool: tool, location: location, projectName: config.name)
        let project = ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions())
        _ = try await cli.containers()
        _ = try await StatusCollector(project: project, runner: runner, environment: [:]).collect()

        let children = recording.commands.dropFirst(option == nil && environment.isEmpty ? 0 : 1)
        #expect(children.contains { $0.arguments.starts(with: ["compose"]) }, "compose was asked")
        #expect(children.contains { $0.arguments.first == "run" }, "a helper container ran")
        for command in children {
            #expect(command.environment["DOCKER_CONTEXT"] == "prod", "\(command.argv)")
            #expect(command.unsetEnvironment.contains("DOCKER_HOST"), "\(command.argv)")
        }
    }

    @Test func remoteContextIsRefusedByName() async throws {
        let runner = RecordingRunner()
        runner.stub(["docker", "context", "inspect"], stdout: "nas\tssh://admin@nas\n")
        do {
            try await EngineEndpoint.requireLocal("pg-upgrade", runner: runner)
            Issue.record("a remote engine was accepted")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage)
            #expect(error.message.contains("docker context nas talks to ssh://admin@nas") && error.message.contains("nothing was changed"))
            #expect(error.hint?.contains("--context") == true)
        }
        runner.stub(["docker", "context", "inspect"], stdout: "default\ttcp://10.0.0.5:2375\n")
        await #expect(throws: UpshiftError.self) { try await EngineEndpoint.requireLocal("update", runner: runner) }
        runner.stub(["docker", "context", "inspect"], stdout: "default\tunix:///var/run/docker.sock\n")
        try await EngineEndpoint.requireLocal("update", runner: runner)
    }
}
