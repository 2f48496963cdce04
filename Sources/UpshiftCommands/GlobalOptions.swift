import ArgumentParser
import UpshiftCompose
import UpshiftCore
import UpshiftSupport

/// The options every command takes, spelled like docker compose's so a user's muscle memory carries over.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: [.customShort("C"), .customLong("project-directory")], help: "Compose project directory (default: found like docker compose does).")
    public var projectDirectory: String?

    @Option(name: [.short, .customLong("file")], help: "Compose file; repeat for overrides (default: COMPOSE_FILE or discovery).")
    public var file: [String] = []

    @Option(name: [.short, .customLong("project-name")], help: "Compose project name (default: COMPOSE_PROJECT_NAME, name:, or the directory).")
    public var projectName: String?

    @Option(name: .customLong("env-file"), help: "Env file for interpolation instead of .env; repeatable.")
    public var envFile: [String] = []

    @Option(name: .customLong("db-service"), help: "The PostgreSQL service, when the image alone does not say.")
    public var dbService: String?

    @Option(name: .customLong("context"), help: "Docker context to use (default: DOCKER_HOST, DOCKER_CONTEXT or `docker context use`'s choice, as docker does).")
    public var context: String?

    public init() {}

    /// The runner for this run's children: every docker and compose call goes to the engine `--context`
    /// names, or to the one docker resolves at the start (see `EngineRunner`).
    func runner() async throws -> any CommandRunning { try await EngineRunner.make(context: context) }

    /// The same choices as a core value.
    public var composeOptions: ComposeOptions {
        ComposeOptions(projectDirectory: projectDirectory, files: file, projectName: projectName, envFiles: envFile, dbService: dbService)
    }
}
