import Foundation
import UpshiftSupport

/// A compose project as plain data, so a compensation recorded in the journal can drive compose again from
/// a fresh process (`upshift rollback` after kill -9) with exactly the files, name and env files of the run.
public struct ComposeHandle: Sendable, Hashable, Codable {
    public var location: ComposeProjectLocation
    public var projectName: String

    public init(location: ComposeProjectLocation, projectName: String) {
        self.location = location
        self.projectName = projectName
    }

    public init(_ project: ComposeProject) {
        self.init(location: project.location, projectName: project.name)
    }

    /// A driver for this project; `extraFiles` are appended after the user's files (the isolation override).
    public func cli(runner: any CommandRunning, tool: ComposeTool, extraFiles: [String] = []) -> ComposeCLI {
        var location = self.location
        location.files += extraFiles
        return ComposeCLI(runner: runner, tool: tool, location: location, projectName: projectName)
    }
}

/// Compose operations that steps and compensations share.
public struct ComposeOperations: Sendable {
    public var cli: ComposeCLI
    public var redactor: Redactor

    public init(cli: ComposeCLI, redactor: Redactor) {
        self.cli = cli
        self.redactor = redactor
    }

    public var runner: any CommandRunning { cli.runner }

    /// Runs a compose subcommand and throws a readable error on failure.
    @discardableResult
    public func run(_ subcommand: [String], environment: [String: String] = [:], timeout: Duration = .seconds(600)) async throws -> CommandResult {
        let result = try await runner.run(cli.command(subcommand, environment: environment, timeout: timeout))
        try result.check(redactor: redactor)
        return result
    }

    /// Services with a running container.
    public func runningServices() async throws -> [String] {
        guard let containers = try await cli.containers() else {
            throw UpshiftError.unavailable("docker compose ps failed: no docker engine answers", hint: "check DOCKER_HOST and that the daemon runs")
        }
        return Array(Set(containers.filter(\.isRunning).map(\.service))).sorted()
    }

    public func stop(_ services: [String], timeout seconds: Int) async throws {
        guard !services.isEmpty else { return }
        try await run(["stop", "-t", String(seconds)] + services, timeout: .seconds(Int64(seconds) + 120))
    }

    /// `up -d --no-deps` for the given services (recreating them when their config changed).
    public func up(_ services: [String], noDeps: Bool = true, wait: Bool = false, timeout: Duration = .seconds(600)) async throws {
        var args = ["up", "-d"]
        if noDeps { args.append("--no-deps") }
        if wait { args += ["--wait", "--wait-timeout", String(Int(timeout.components.seconds))] }
        try await run(args + services, timeout: timeout + .seconds(60))
    }

    /// `exec -T` in a service; the environment travels by name (`-e NAME`), its values never appear in argv.
    public func execCommand(_ service: String, _ argv: [String], environment: [String: String] = [:], user: String? = nil, timeout: Duration? = nil) -> Command {
        var args = ["exec", "-T"]
        if let user { args += ["-u", user] }
        for name in environment.keys.sorted() { args += ["-e", name] }
        return cli.command(args + [service] + argv, environment: environment, timeout: timeout)
    }
}
