import Foundation
import Testing
import UpshiftCompose
import UpshiftSupport
import UpshiftTestSupport

/// How compose is invoked and how its answers and failures are read.
struct ComposeCLITests {
    let location = ComposeProjectLocation(
        directory: "/srv/app", files: ["/srv/app/compose.yaml", "/srv/app/compose.override.yaml"], fileSource: .discovered,
        explicitProjectName: nil, envFiles: ["/srv/app/.env"])

    @Test func everyCallSpellsTheGlobalFlags() async throws {
        let runner = RecordingRunner(strict: true)
        let json = try String(contentsOf: ComposeFixtures.root.appendingPathComponent("named-volume/config.json"), encoding: .utf8)
        runner.stub(["docker", "compose"], stdout: json)
        runner.stub(["docker", "compose", "--ansi", "never", "--progress", "plain", "--project-directory", "/srv/app", "-f", "/srv/app/compose.yaml", "-f", "/srv/app/compose.override.yaml", "-p"], stdout: "")
        var cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 5, minor: 6, patch: 1)), location: location)
        let config = try await cli.config()
        #expect(config.name == "named-volume")
        #expect(cli.projectName == "named-volume")
        _ = try await cli.containers()
        let commands = runner.commands
        #expect(commands[0].argv == [
            "docker", "compose", "--ansi", "never", "--progress", "plain", "--project-directory", "/srv/app",
            "-f", "/srv/app/compose.yaml", "-f", "/srv/app/compose.override.yaml", "--env-file", "/srv/app/.env",
            "config", "--format", "json",
        ])
        // Once the name is known it is passed explicitly.
        #expect(commands[1].arguments.contains("-p") && commands[1].arguments.suffix(4) == ["ps", "-a", "--format", "json"])
        for command in commands {
            #expect(command.workingDirectory == "/srv/app")
            #expect(command.environment["PWD"] == "/srv/app")
        }
    }

    @Test func warningsAreKeptAsMessages() async throws {
        let runner = RecordingRunner()
        runner.stub(["docker", "compose"], stdout: #"{"name":"p","services":{}}"#, stderr: #"""
            time="2026-11-28T13:24:52Z" level=warning msg="The \"SUFFIX\" variable is not set. Defaulting to a blank string."
            time="2026-11-28T13:24:52Z" level=warning msg="/p/compose.yaml: the attribute `version` is obsolete, it will be ignored"

            """#)
        var cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 5, minor: 6, patch: 1)), location: location)
        _ = try await cli.config()
        #expect(cli.configWarnings == [
            #"The "SUFFIX" variable is not set. Defaulting to a blank string."#,
            "/p/compose.yaml: the attribute `version` is obsolete, it will be ignored",
        ])
    }

    @Test func oldComposeGetsNoProgressFlagAndStandaloneHasNoPrefix() {
        let cli = ComposeCLI(
            runner: RecordingRunner(), tool: ComposeTool(flavor: .standalone, version: ComposeVersion(major: 2, minor: 18, patch: 0)),
            location: location, projectName: "p")
        let argv = cli.command(["ps"]).argv
        #expect(argv.prefix(3) == ["docker-compose", "--ansi", "never"])
        #expect(!argv.contains("--progress"))
        #expect(argv.contains("-p"))
    }

    @Test func composeErrorShowsComposesMessage() async throws {
        let runner = RecordingRunner()
        runner.stub(["docker", "compose"], exit: 1, stderr: "time=x level=warning msg=\"obsolete\"\nerror while interpolating services.db.image: required variable PG is missing a value: PG must be set\n")
        var cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 5, minor: 6, patch: 1)), location: location)
        let error = await #expect(throws: UpshiftError.self) { try await cli.config() }
        #expect(error?.message == "docker compose rejected the project: error while interpolating services.db.image: required variable PG is missing a value: PG must be set")
    }

    @Test(arguments: [("5.6.1", 5, 6, 1), ("v2.2.3", 2, 2, 3), ("2.27.0-desktop.2", 2, 27, 0),
                      ("docker-compose version 1.29.2, build unknown", 1, 29, 2), ("Docker Compose version v2.40.3", 2, 40, 3)])
    func versionParsing(text: String, major: Int, minor: Int, patch: Int) throws {
        let version = try #require(ComposeVersion(parsing: text))
        #expect(version == ComposeVersion(major: major, minor: minor, patch: patch))
    }

    @Test func progressGate() {
        #expect(ComposeVersion(parsing: "2.19.0")!.supportsProgressFlag)
        #expect(!ComposeVersion(parsing: "2.18.9")!.supportsProgressFlag)
        #expect(ComposeVersion(parsing: "5.0.0")!.supportsProgressFlag)
    }

    // MARK: - Detection (needs the programs on PATH: a temporary directory of stand-in executables)

    func pathWith(_ names: [String]) throws -> (env: [String: String], dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-path-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in names {
            let file = dir.appendingPathComponent(name)
            try "#!/bin/sh\nexit 1\n".write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        return (["PATH": dir.path], dir)
    }

    @Test func detectsPluginThenStandaloneAndRefusesV1() async throws {
        let (env, dir) = try pathWith(["docker", "docker-compose"])
        defer { try? FileManager.default.removeItem(at: dir) }

        let plugin = RecordingRunner(strict: true)
        plugin.stub(["docker", "compose", "version"], stdout: "5.6.1\n")
        #expect(try await ComposeCLI.detect(runner: plugin, environment: env) == ComposeTool(flavor: .plugin, version: ComposeVersion(major: 5, minor: 6, patch: 1)))

        let standalone = RecordingRunner(strict: true)
        standalone.stub(["docker", "compose"], exit: 1, stderr: "docker: unknown command: docker compose")
        standalone.stub(["docker-compose", "version"], stdout: "2.29.7\n")
        #expect(try await ComposeCLI.detect(runner: standalone, environment: env).flavor == .standalone)

        let v1 = RecordingRunner(strict: true)
        v1.stub(["docker", "compose"], exit: 1)
        v1.stub(["docker-compose", "version"], stdout: "1.29.2\n")
        let error = await #expect(throws: UpshiftError.self) { try await ComposeCLI.detect(runner: v1, environment: env) }
        #expect(error?.exitCode == .unavailable)
        #expect(error?.message.contains("compose v1") == true)
    }

    @Test func noDockerAtAll() async throws {
        let (env, dir) = try pathWith([])
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = await #expect(throws: UpshiftError.self) { try await ComposeCLI.detect(runner: RecordingRunner(strict: true), environment: env) }
        #expect(error?.exitCode == .unavailable)
        #expect(error?.message.hasPrefix("docker is not installed") == true)
    }
}
