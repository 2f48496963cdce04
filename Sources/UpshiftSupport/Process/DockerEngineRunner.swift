import Foundation

/// The docker engine every docker and compose child of one run talks to, given as the environment the docker
/// CLI reads. The CLI resolves its engine from `--context`, then `-H`/`DOCKER_HOST`, then `DOCKER_CONTEXT`,
/// then the config's `currentContext` (docker/cli `cli/command/cli.go`, `resolveContextName`); upshift starts
/// many children over minutes or hours, so it names the engine once and gives every child the same answer
/// instead of letting each one resolve it again (a `docker context use` in another shell mid-run would
/// otherwise send the undo to another engine).
public struct DockerEngine: Sendable, Hashable {
    /// `DOCKER_CONTEXT` for every child, with `DOCKER_HOST` removed: a named context beats `DOCKER_HOST` the
    /// way docker's `--context` flag does. `nil`: the inherited environment decides (e.g. `DOCKER_HOST`).
    public var context: String?

    public init(context: String? = nil) { self.context = context }

    /// The inherited environment, untouched.
    public static let inherited = DockerEngine()

    /// `command` as it must run to reach this engine. Variables the command sets itself are kept.
    public func applied(to command: Command) -> Command {
        guard let context else { return command }
        var command = command
        if command.environment["DOCKER_CONTEXT"] == nil && command.environment["DOCKER_HOST"] == nil {
            command.environment["DOCKER_CONTEXT"] = context
            if !command.unsetEnvironment.contains("DOCKER_HOST") { command.unsetEnvironment.append("DOCKER_HOST") }
        }
        return command
    }
}

/// A runner that sends every command to one `DockerEngine`. Commands are built all over the flows (compose
/// calls, helper containers, undo in a fresh process); applying the engine here, where they all pass, is what
/// makes "every child talks to the same engine" hold without each call site remembering it. The variables
/// mean nothing to non-docker tools, so every command gets them.
public struct DockerEngineRunner: CommandRunning {
    public var base: any CommandRunning
    public var engine: DockerEngine

    public init(base: any CommandRunning, engine: DockerEngine) {
        self.base = base
        self.engine = engine
    }

    public func run(
        _ command: Command, stdout: OutputDestination, onLine: (@Sendable (OutputLine) -> Void)?
    ) async throws -> CommandResult {
        try await base.run(engine.applied(to: command), stdout: stdout, onLine: onLine)
    }
}

extension DockerEngine {
    /// The engine `runner` sends its commands to (`.inherited` for a runner that names none): what a child
    /// started outside the runner (a tunnel's `docker exec`) must be given to reach the same engine.
    public static func of(_ runner: any CommandRunning) -> DockerEngine {
        (runner as? DockerEngineRunner)?.engine ?? .inherited
    }
}
