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

    @Option(name: .customLong("context"), help: "Docker context to use (default: DOCKER_HOST, DOCKER_CONTEXT or `docker context use`'s choice, as docker does); `status` takes it more than once for the fleet view.")
    public var contexts: [String] = []

    @Flag(name: .customLong("all-contexts"), help: "`status` only: the fleet view of every context `docker context ls` lists.")
    public var allContexts = false

    public init() {}

    /// The one context a single-engine command uses (`nil`: docker's own choice).
    var context: String? { contexts.last }

    /// The runner for this run's children: every docker and compose call goes to the engine `--context`
    /// names, or to the one docker resolves at the start (see `EngineRunner`).
    /// - Throws: `UpshiftError.usage` when several engines were named: only `status` looks at more than one,
    ///   and it does not come here then. A second line of defence behind `EngineChoice.refusal`.
    func runner() async throws -> any CommandRunning {
        if let refusal = engineChoice.refusal(command: nil) { throw refusal }
        return try await EngineRunner.make(context: context)
    }

    /// What was asked about engines, for the single-engine guard.
    var engineChoice: EngineChoice { EngineChoice(contexts: contexts, allContexts: allContexts) }

    /// The same choices as a core value.
    public var composeOptions: ComposeOptions {
        ComposeOptions(projectDirectory: projectDirectory, files: file, projectName: projectName, envFiles: envFile, dbService: dbService)
    }
}
