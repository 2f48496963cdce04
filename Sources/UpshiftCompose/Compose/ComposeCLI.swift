import Foundation
import UpshiftSupport

/// Drives `docker compose` for one located project.
///
/// Every call is spelled the same way, so compose resolves the same project every time no matter where
/// upshift was started or what the shell exported:
/// `docker compose --ansi never [--progress plain] --project-directory D -f F… [-p NAME] [--env-file E…] <sub>`
/// with cwd = D and `PWD=D` (compose takes `${PWD}` from the environment, not from getcwd).
/// `--progress` is only passed when the installed compose accepts it (v2.19+).
public struct ComposeCLI: Sendable {
    public var runner: any CommandRunning
    public var tool: ComposeTool
    public var location: ComposeProjectLocation
    /// `-p` for every call: the explicit name, or the one read back from the first `config`.
    public var projectName: String?
    /// Warnings compose printed during the last `config` (unset variables, obsolete attributes), as text.
    public private(set) var configWarnings: [String] = []

    public init(runner: any CommandRunning, tool: ComposeTool, location: ComposeProjectLocation, projectName: String? = nil) {
        self.runner = runner
        self.tool = tool
        self.location = location
        self.projectName = projectName ?? location.explicitProjectName
    }

    /// The global flags, in the order compose requires (before the subcommand).
    public var globalArguments: [String] {
        var args = tool.prefix + ["--ansi", "never"]
        if tool.version.supportsProgressFlag { args += ["--progress", "plain"] }
        args += ["--project-directory", location.directory]
        for file in location.files { args += ["-f", file] }
        if let projectName { args += ["-p", projectName] }
        for envFile in location.envFiles { args += ["--env-file", envFile] }
        return args
    }

    /// A compose command for `subcommand` with the project's global flags, cwd and environment.
    public func command(_ subcommand: [String], environment: [String: String] = [:], timeout: Duration? = nil) -> Command {
        var env = ["PWD": location.directory, "NO_COLOR": "1", "COMPOSE_MENU": "false"]
        env.merge(environment) { _, new in new }
        return Command(
            tool.executable, globalArguments + subcommand, environment: env, workingDirectory: location.directory,
            timeout: timeout)
    }

    /// Runs `config --format json` and decodes the model. Sets `projectName` from it when none was given.
    /// - Throws: `UpshiftError` (exit 64) carrying compose's own message when the project is invalid.
    public mutating func config() async throws -> ComposeConfig {
        let result = try await runner.run(command(["config", "--format", "json"], timeout: .seconds(60)))
        guard result.termination.isSuccess else {
            throw UpshiftError.usage(
                "docker compose rejected the project: \(Self.lastLine(of: result.stderrText) ?? "\(result.termination)")",
                hint: "run `docker compose config` in \(location.directory) to see the full output")
        }
        let config = try ComposeConfig.decode(result.standardOutput)
        if projectName == nil { projectName = config.name }
        configWarnings = Self.warnings(in: result.stderrText)
        return config
    }

    /// The project's containers (`ps -a --format json`), or `nil` when no engine answers: `status` still
    /// works without a daemon, it just cannot say what is running.
    public func containers() async throws -> [ComposeContainer]? {
        let result = try await runner.run(command(["ps", "-a", "--format", "json"], timeout: .seconds(30)))
        guard result.termination.isSuccess else { return nil }
        return try ComposeContainer.parseList(result.standardOutput)
    }

    /// The `msg` of each logrus warning line (`time=… level=warning msg="…"`); other lines as they are.
    static func warnings(in stderr: String) -> [String] {
        stderr.split(whereSeparator: \.isNewline).map(String.init).compactMap { line in
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            guard let range = line.range(of: "msg=\"") else { return line }
            var message = String(line[range.upperBound...])
            if message.hasSuffix("\"") { message.removeLast() }
            return message.replacingOccurrences(of: "\\\"", with: "\"")
        }
    }

    /// The last non-empty stderr line: compose prints its error last, after any warnings.
    static func lastLine(of text: String) -> String? {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.last { !$0.isEmpty }
    }
}

extension ComposeCLI {
    /// Finds compose v2+: the `docker compose` plugin first, then a standalone `docker-compose`.
    /// - Throws: `UpshiftError` (exit 69) when neither docker nor compose is installed, or only compose v1.
    public static func detect(
        runner: any CommandRunning, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> ComposeTool {
        let docker = ExecutableLocator.locate("docker", path: environment["PATH"])
        let standalone = ExecutableLocator.locate("docker-compose", path: environment["PATH"])
        if docker == nil && standalone == nil {
            throw UpshiftError.unavailable(
                "docker is not installed: neither `docker` nor `docker-compose` is on PATH",
                hint: "install the docker CLI with the compose plugin (v2 or later)")
        }
        if docker != nil, let version = await shortVersion(runner, Command("docker", ["compose", "version", "--short"])) {
            if version.major >= 2 { return ComposeTool(flavor: .plugin, version: version) }
        }
        var standaloneVersion: ComposeVersion?
        if standalone != nil {
            standaloneVersion = await shortVersion(runner, Command("docker-compose", ["version", "--short"]))
            if let v = standaloneVersion, v.major >= 2 { return ComposeTool(flavor: .standalone, version: v) }
        }
        if let v1 = standaloneVersion {
            throw UpshiftError.unavailable(
                "only docker-compose \(v1.raw) (compose v1) is installed; upshift needs compose v2 or later",
                hint: "install the docker compose v2 plugin; v1 has been unsupported since 2023 and lacks `config --format json`")
        }
        throw UpshiftError.unavailable(
            "docker compose is not installed (`docker compose version` failed)",
            hint: "install the docker compose plugin (v2 or later)")
    }

    private static func shortVersion(_ runner: any CommandRunning, _ command: Command) async -> ComposeVersion? {
        var command = command
        command.timeout = .seconds(20)
        guard let result = try? await runner.run(command), result.termination.isSuccess else { return nil }
        return ComposeVersion(parsing: result.stdoutText)
    }
}
