import Foundation
import Testing
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport
import UpshiftTestSupport
@testable import UpshiftCore

/// The fleet view's gathering on recorded engines: which engine each command goes to, how the compose labels
/// become deployments, and how a context that does not answer becomes a row instead of an error.
struct FleetCollectorTests {
    /// Sends each command to the recorded engine its `DOCKER_CONTEXT` names, as the real CLI would.
    struct ContextRouter: CommandRunning {
        var engines: [String: RecordingRunner]

        func run(_ command: Command, stdout: OutputDestination, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
            guard let context = command.environment["DOCKER_CONTEXT"], let engine = engines[context] else {
                throw UpshiftError("no engine for context \(command.environment["DOCKER_CONTEXT"] ?? "(none)")")
            }
            return try await engine.run(command, stdout: stdout, onLine: onLine)
        }
    }

    let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

    /// An engine that runs the `named-volume` fixture project, with PG_VERSION saying `diskMajor`.
    func liveEngine(diskMajor: Int = 16, directory: String? = nil) throws -> RecordingRunner {
        let dir = directory ?? ComposeFixtures.directory("named-volume")
        let engine = RecordingRunner()
        engine.stub(["docker", "ps"], stdout: "named-volume\t\(dir)\t\(dir)/compose.yaml\t\nnamed-volume\t\(dir)\t\(dir)/compose.yaml\t\n")
        engine.stub(["docker", "compose"], stdout: #"{"Name":"named-volume-db-1","Service":"db","State":"running","Image":"postgres:16"}"#)
        engine.stub(["docker", "compose", "version"], stdout: "2.30.3\n")
        let config = try String(contentsOf: URL(fileURLWithPath: dir + "/config.json"), encoding: .utf8)
        engine.stub(["docker", "compose", "--ansi"], stdout: config, times: 1)
        engine.stub(["docker", "run"], stdout: "\(diskMajor)\n")
        return engine
    }

    @Test func liveAndDeadContextsBothGetRows() async throws {
        let live = try liveEngine()
        let dead = RecordingRunner(strict: true)
        dead.stub(["docker", "ps"], exit: 1, stderr: "Cannot connect to the Docker daemon at unix:///nowhere.sock. Is the docker daemon running?\n")
        let collector = FleetCollector(
            targets: FleetTarget.named(["live", "dead", "live"]), runner: ContextRouter(engines: ["live": live, "dead": dead]),
            environment: environment)
        let rows = await collector.collect()
        #expect(rows.map(\.context) == ["live", "dead"])
        let row = try #require(rows.first)
        #expect(row.error == nil)
        #expect(row.project == "named-volume" && row.workingDirectory == ComposeFixtures.directory("named-volume"))
        #expect(row.databaseService == "db" && row.imageMajor == 16 && row.diskMajor == 16 && !row.isMismatch)
        #expect(row.keptItems == 0 && row.lastRun == nil)
        #expect(rows[1].project == nil && rows[1].error?.hasPrefix("Cannot connect to the Docker daemon") == true)
        // Every child of a context went to that context's engine, never to DOCKER_HOST.
        #expect(live.commands.allSatisfy { $0.environment["DOCKER_CONTEXT"] == "live" && $0.unsetEnvironment.contains("DOCKER_HOST") })
        #expect(dead.argvs.count == 1)
        // Read-only: no compose command that changes anything.
        #expect(!live.argvs.contains { argv in ["up", "down", "stop", "rm", "pull"].contains { argv.contains($0) } })
    }

    @Test func lastRunComesFromTheAuditTrail() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-fleet-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.copyItem(atPath: ComposeFixtures.directory("named-volume"), toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(projectDirectory: dir)
        try log.append(run: "20261128-120000-aaaa", event: AuditEvent.runStarted, stringDetails: ["command": "pg-upgrade --to 18"])
        try log.append(run: "20261128-120000-aaaa", event: AuditEvent.runFinished, stringDetails: ["outcome": "succeeded"])
        try log.append(run: "20261128-130000-bbbb", event: AuditEvent.runStarted, stringDetails: ["command": "update --to 1.1.0"])
        try log.append(run: "20261128-130000-bbbb", event: AuditEvent.runFinished, stringDetails: ["outcome": "rolled-back"])
        let live = try liveEngine(directory: dir)
        let rows = await FleetCollector(targets: [.named("live")], runner: ContextRouter(engines: ["live": live]), environment: environment).collect()
        let run = try #require(rows.first?.lastRun, "\(rows)")
        #expect(run.id == "20261128-130000-bbbb" && run.kind == "update" && run.outcome == "rolled-back")
        #expect(rows.first?.keptItems == 0)
    }

    @Test func bumpedTagShowsAsMismatch() async throws {
        let live = try liveEngine(diskMajor: 15)
        let rows = await FleetCollector(targets: [.named("live")], runner: ContextRouter(engines: ["live": live]), environment: environment).collect()
        #expect(rows.count == 1 && rows[0].imageMajor == 16 && rows[0].diskMajor == 15 && rows[0].isMismatch)
    }

    @Test func projectOnAnotherHostIsARowNotACrash() async throws {
        let engine = RecordingRunner(strict: true)
        engine.stub(["docker", "ps"], stdout: "far\t/srv/elsewhere\t/srv/elsewhere/compose.yaml\t\n")
        engine.stub(["docker", "compose", "version"], stdout: "2.30.3\n")
        let rows = await FleetCollector(
            targets: [.named("remote")], runner: ContextRouter(engines: ["remote": engine]), environment: environment,
            directoryExists: { _ in false }
        ).collect()
        #expect(rows.count == 1 && rows[0].project == "far")
        #expect(rows[0].error?.contains("not on this host") == true)
        #expect(!engine.argvs.contains { $0.contains("config") })
    }

    @Test func remoteEngineRowsKeepTheLabelsAndReadNoLocalFiles() async throws {
        let dir = ComposeFixtures.directory("named-volume")
        let engine = RecordingRunner(strict: true)
        engine.stub(["docker", "ps"], stdout: "named-volume\t\(dir)\t\(dir)/compose.yaml\t\n")
        engine.stub(["docker", "context", "inspect"], stdout: "nas\tssh://admin@nas\n")
        let rows = await FleetCollector(targets: [.named("nas")], runner: ContextRouter(engines: ["nas": engine]), environment: environment).collect()
        #expect(rows.count == 1 && rows[0].project == "named-volume" && rows[0].workingDirectory == dir)
        #expect(rows[0].error?.contains("the engine is at ssh://admin@nas, not on this host") == true)
        #expect(rows[0].imageMajor == nil && !engine.argvs.contains { $0.contains("compose") })
    }

    @Test func engineThatDoesNotAnswerInTimeIsNamedSo() async throws {
        let engine = RecordingRunner(strict: true)
        engine.stub(["docker", "ps"], termination: .signaled(15))
        struct TimingOut: CommandRunning {
            var base: RecordingRunner
            func run(_ command: Command, stdout: OutputDestination, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
                var result = try await base.run(command, stdout: stdout, onLine: onLine)
                result.timedOut = true
                return result
            }
        }
        let rows = await FleetCollector(targets: [.named("slow")], runner: TimingOut(base: engine), environment: environment).collect()
        #expect(rows == [FleetRow.unreachable("slow", because: "the engine did not answer docker ps within 30.0 seconds")])
    }

    @Test func engineWithoutDeploymentsHasNoRows() async throws {
        let engine = RecordingRunner(strict: true)
        engine.stub(["docker", "ps"], stdout: "")
        let rows = await FleetCollector(targets: [.named("empty")], runner: ContextRouter(engines: ["empty": engine]), environment: environment).collect()
        #expect(rows.isEmpty)
    }

    @Test func runnerFailureBecomesTheContextsRow() async throws {
        let rows = await FleetCollector(targets: [.named("ghost")], runner: ContextRouter(engines: [:]), environment: environment).collect()
        #expect(rows == [FleetRow.unreachable("ghost", because: "no engine for context ghost")])
    }

    @Test func labelsBecomeOneDeploymentPerProject() {
        let text = "b\t/srv/b\t/srv/b/compose.yaml,/srv/b/override.yaml\t/srv/b/prod.env\na\t/srv/a\t/srv/a/compose.yaml\t\nb\t/srv/other\t/srv/other/compose.yaml\t\n\t\t\t\n"
        let deployments = FleetDeployment.parse(text)
        #expect(deployments.map(\.project) == ["a", "b"])
        #expect(deployments[1].workingDirectory == "/srv/b")
        #expect(deployments[1].configFiles == ["/srv/b/compose.yaml", "/srv/b/override.yaml"])
        #expect(deployments[1].environmentFiles == ["/srv/b/prod.env"])
        #expect(deployments[0].environmentFiles.isEmpty)
        #expect(FleetDeployment.listCommand.arguments.contains("label=com.docker.compose.project"))
    }

    @Test func contextListReadsBothFormats() {
        let lines = #"""
            {"Current":true,"Description":"","DockerEndpoint":"unix:///var/run/docker.sock","Name":"default"}
            {"Current":false,"Description":"","DockerEndpoint":"ssh://nas","Name":"nas"}
            """#
        #expect(FleetTarget.contextNames(lines) == ["default", "nas"])
        #expect(FleetTarget.contextNames(#"[{"Name":"a"},{"Name":"b"}]"#) == ["a", "b"])
        #expect(FleetTarget.contextNames("") == [])
    }

    @Test func allContextsFollowsDockerHostForDefault() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "context", "ls"], stdout: "{\"Name\":\"default\"}\n{\"Name\":\"prod\"}\n")
        let withHost = try await FleetTarget.all(runner: runner, environment: ["DOCKER_HOST": "unix:///x.sock"])
        #expect(withHost == [FleetTarget(context: "default", engine: .inherited), .named("prod")])
        let without = try await FleetTarget.all(runner: runner, environment: [:])
        #expect(without == [.named("default"), .named("prod")])
        runner.stub(["docker", "context", "ls"], exit: 1, stderr: "config broken")
        await #expect(throws: UpshiftError.self) { try await FleetTarget.all(runner: runner, environment: [:]) }
    }
}
