import Foundation
import UpshiftSupport

/// What `docker inspect` says about a service's container: its state, how often its restart policy
/// restarted it, and its addresses on the compose networks (reachable from the engine's host when the
/// engine runs there).
public struct ContainerState: Sendable, Hashable {
    public var id: String
    /// `running`, `restarting`, `exited`, `created`, ...
    public var status: String
    public var restartCount: Int
    public var addresses: [String]

    /// The service's container, as `docker compose ps -a -q` would name it; `nil` when there is none.
    ///
    /// Found by compose's own labels with `docker ps` once the project's name is known: compose would load
    /// and interpolate the whole project for the same answer, about 60 ms more per call, and steps inside
    /// the window ask several times.
    public static func read(service: String, compose: ComposeOperations, runner: any CommandRunning) async throws -> ContainerState? {
        let ps: CommandResult
        if let project = compose.cli.projectName {
            ps = try await runner.run(Command("docker", ["ps", "-a", "-q", "--no-trunc"] + labelFilters(project: project, service: service), timeout: .seconds(60)))
            try ps.check(redactor: compose.redactor)
        } else {
            ps = try await compose.run(["ps", "-a", "-q", service], timeout: .seconds(60))
        }
        guard let id = ps.stdoutText.split(whereSeparator: \.isNewline).first.map(String.init), !id.isEmpty else { return nil }
        return try await inspect(container: id, runner: runner)
    }

    /// `docker ps` filters for a service's containers that compose itself lists (one-off `run` containers
    /// excluded).
    public static func labelFilters(project: String, service: String) -> [String] {
        [
            "--filter", "label=com.docker.compose.project=\(project)",
            "--filter", "label=com.docker.compose.service=\(service)",
            "--filter", "label=com.docker.compose.oneoff=False",
        ]
    }

    /// A container by id or name; `nil` when docker does not know it.
    public static func inspect(container: String, runner: any CommandRunning) async throws -> ContainerState? {
        let inspect = try await runner.run(Command(
            "docker", ["inspect", "--format", "{{.State.Status}} {{.RestartCount}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container],
            timeout: .seconds(60)))
        guard inspect.termination.isSuccess else { return nil }
        return parse(id: container, inspect.stdoutText)
    }

    /// Parses `STATUS RESTARTS [ADDRESS ...]`.
    static func parse(id: String, _ text: String) -> ContainerState? {
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count >= 2, let restarts = Int(fields[1]) else { return nil }
        return ContainerState(id: id, status: fields[0], restartCount: restarts, addresses: Array(fields.dropFirst(2)))
    }
}
