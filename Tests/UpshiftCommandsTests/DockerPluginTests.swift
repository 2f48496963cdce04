import ArgumentParser
import Foundation
import Testing
@testable import UpshiftCommands

/// upshift as the Docker CLI plugin `docker-upshift`: the metadata docker asks for, and the command line docker
/// hands over (`docker-upshift [DOCKER OPTIONS] upshift ARGS`, as docker/cli's `PluginRunCommand` builds it from
/// its own `os.Args[1:]`).
struct DockerPluginTests {
    let plugin = "/root/.docker/cli-plugins/docker-upshift"

    func run(_ argv: [String]) throws -> (arguments: [String], environment: [String: String?]) {
        guard case .run(let arguments, let environment) = try DockerPlugin.invocation(argv) else {
            throw CommandTestFailure("\(argv) was not a run")
        }
        return (arguments, environment)
    }

    /// What `upshift ARGS` parses to, through the same path as `main()`.
    func parsed(_ argv: [String]) throws -> any ParsableCommand {
        try Upshift.parseAsRoot(Upshift.globalOptionsAfterSubcommand(try run(argv).arguments))
    }

    @Test func metadataIsTheJSONDockerValidates() throws {
        #expect(try DockerPlugin.invocation([plugin, "docker-cli-plugin-metadata"]) == .metadata)
        // Answered before anything is parsed, whatever the binary is called.
        #expect(try DockerPlugin.invocation(["upshift", "docker-cli-plugin-metadata"]) == .metadata)
        let json = DockerPlugin.metadataJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        // docker/cli cli-plugins/manager/plugin.go: SchemaVersion 0.1.0 and a non-empty Vendor are required.
        #expect(object["SchemaVersion"] as? String == "0.1.0")
        #expect((object["Vendor"] as? String)?.isEmpty == false)
        #expect(object["Version"] as? String == UpshiftVersion.current)
        #expect((object["ShortDescription"] as? String)?.isEmpty == false)
        #expect(Set(object.keys).isSubset(of: ["SchemaVersion", "Vendor", "Version", "ShortDescription", "URL", "Hidden"]))
    }

    @Test func pluginCommandLineParsesLikeUpshift() throws {
        let viaDocker = try #require(try parsed([plugin, "upshift", "status", "-C", "/srv/app"]) as? Upshift.Status)
        let direct = try #require(try Upshift.parseAsRoot(["status", "-C", "/srv/app"]) as? Upshift.Status)
        #expect(viaDocker.global.projectDirectory == "/srv/app" && direct.global.projectDirectory == "/srv/app")
        #expect(try run([plugin, "upshift", "status", "-C", "/srv/app"]).arguments == ["status", "-C", "/srv/app"])
        #expect(try run([plugin, "upshift", "status"]).environment.isEmpty)

        let upgrade = try #require(try parsed([plugin, "upshift", "-C", "/srv/app", "pg-upgrade", "--to", "18", "--dry-run"]) as? Upshift.PgUpgrade)
        #expect(upgrade.targetMajor == 18 && upgrade.change.dryRun && upgrade.global.projectDirectory == "/srv/app")
    }

    @Test func upshiftAloneIsUnchanged() throws {
        let argv = ["/usr/local/bin/upshift", "upshift", "status"]
        #expect(try run(argv).arguments == ["upshift", "status"], "only the plugin drops its name")
        #expect(try run(["upshift", "--context", "x", "status"]) == (["--context", "x", "status"], [:]))
    }

    @Test func dockersOptionsBecomeTheEnvironmentDockerWouldGive() throws {
        let context = try run([plugin, "--context", "prod", "upshift", "status"])
        #expect(context.arguments == ["status"])
        let contextEnvironment: [String: String?] = ["DOCKER_CONTEXT": "prod", "DOCKER_HOST": .none]
        #expect(context.environment == contextEnvironment, "the flag beats DOCKER_HOST, as in docker")
        #expect(try run([plugin, "-c", "prod", "upshift", "status"]).environment["DOCKER_CONTEXT"] == "prod")
        #expect(try run([plugin, "--context=prod", "upshift", "status"]).environment["DOCKER_CONTEXT"] == "prod")

        let host = try run([plugin, "-H", "unix:///run/other.sock", "upshift", "status"])
        let hostEnvironment: [String: String?] = ["DOCKER_HOST": "unix:///run/other.sock", "DOCKER_CONTEXT": .none]
        #expect(host.environment == hostEnvironment)
        #expect(try run([plugin, "--host=tcp://127.0.0.1:2375", "upshift"]).environment["DOCKER_HOST"] == "tcp://127.0.0.1:2375")

        let config = try run([plugin, "--config", "/etc/dockercfg", "-D", "-l", "warn", "--log-level=debug", "upshift", "status", "--json"])
        #expect(config.arguments == ["status", "--json"])
        #expect(config.environment == ["DOCKER_CONFIG": "/etc/dockercfg"])
    }

    @Test func refusedDockerOptions() {
        #expect(throws: DockerPlugin.OptionError.self) { try DockerPlugin.invocation([plugin, "-H", "unix:///x", "--context", "y", "upshift", "status"]) }
        #expect(throws: DockerPlugin.OptionError.self) { try DockerPlugin.invocation([plugin, "--tlsverify", "upshift", "status"]) }
        #expect(throws: DockerPlugin.OptionError.self) { try DockerPlugin.invocation([plugin, "--future-option", "upshift", "status"]) }
        #expect(throws: DockerPlugin.OptionError.self) { try DockerPlugin.invocation([plugin, "--context"]) }
    }

    @Test func helpThroughDocker() throws {
        #expect(try run([plugin, "help", "upshift"]).arguments == ["--help"])
        #expect(try run([plugin, "help", "upshift", "status"]).arguments == ["status", "--help"])
        #expect(try run([plugin, "upshift", "--help"]).arguments == ["--help"])
        #expect(try run([plugin, "upshift"]).arguments == [])
    }

    @Test func contextIsAGlobalOptionOfEveryCommand() throws {
        let status = try #require(try Upshift.parseAsRoot(Upshift.globalOptionsAfterSubcommand(["--context", "prod", "status"])) as? Upshift.Status)
        #expect(status.global.context == "prod")
        let upgrade = try #require(try Upshift.parseAsRoot(["pg-upgrade", "--to", "18", "--context", "prod"]) as? Upshift.PgUpgrade)
        #expect(upgrade.global.context == "prod")
        let export = try #require(try Upshift.parseAsRoot(Upshift.globalOptionsAfterSubcommand(["--context", "prod", "export", "-f", "x.json"])) as? Upshift.Export)
        #expect(export.project.context == "prod")
        for command in ["status", "doctor", "rollback", "prune", "log", "backup", "restore --db-file x", "update --to 1.0.0", "import -f x.json", "export -f x.json", "transfer --to /x"] {
            let words = command.split(separator: " ").map(String.init)
            #expect((try? Upshift.parseAsRoot(words + ["--context", "prod"])) != nil, "\(command) --context")
        }
    }
}

/// The plugin as the real docker client runs it, without an engine: `docker upshift …` from a temp
/// `DOCKER_CONFIG/cli-plugins`. Skipped when no docker client or no built binary is found.
struct DockerPluginClientTests {
    static let docker: String? = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .map { "\($0)/docker" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The `upshift` built next to the test bundle (`swift build --build-tests` builds it too).
    static let binary: String? = {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["UPSHIFT_BIN"] { candidates.append(explicit) }
        for start in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            var url = URL(fileURLWithPath: start).resolvingSymlinksInPath()
            for _ in 0..<3 {
                url.deleteLastPathComponent()
                candidates.append(url.appendingPathComponent("upshift").path)
            }
        }
        return candidates.first { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && FileManager.default.isExecutableFile(atPath: path)
        }
    }()

    static var available: Bool { docker != nil && binary != nil }

    /// Runs `docker ARGS` with `DOCKER_CONFIG=config` and no engine variables; stdout, stderr and exit status.
    func docker(_ arguments: [String], config: String) throws -> (out: String, err: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.docker))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_CONFIG"] = config
        environment.removeValue(forKey: "DOCKER_HOST")
        environment.removeValue(forKey: "DOCKER_CONTEXT")
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Small outputs only (help text): reading after exit cannot block on a full pipe here.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self), process.terminationStatus)
    }

    @Test(.enabled(if: available, "no docker client on PATH or no built upshift binary"))
    func dockerRunsThePlugin() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-plugin-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: config) }
        try FileManager.default.createDirectory(atPath: config + "/cli-plugins", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: config + "/cli-plugins/docker-upshift", withDestinationPath: try #require(Self.binary))

        let version = try docker(["upshift", "--version"], config: config)
        #expect(version.status == 0 && version.out.trimmingCharacters(in: .whitespacesAndNewlines) == UpshiftVersion.current, "\(version)")
        let listed = try docker(["--help"], config: config)
        #expect(listed.out.split(separator: "\n").contains { $0.contains("upshift*") }, "docker --help lists the plugin: \(listed.out)")
        let help = try docker(["upshift", "pg-upgrade", "--help"], config: config)
        #expect(help.status == 0 && help.out.contains("--to"), "\(help)")
        // docker's own options reach upshift: an unknown context is refused by upshift (64), naming it.
        let context = try docker(["--context", "upshift-no-such-context", "upshift", "status", "-C", "/nonexistent"], config: config)
        #expect(context.status == 64 && context.err.contains("upshift-no-such-context"), "\(context)")
    }
}
