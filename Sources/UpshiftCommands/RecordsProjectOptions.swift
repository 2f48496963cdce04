import ArgumentParser
import UpshiftCore
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The compose-project options of export/import/transfer. They match the global options except that
/// `-f` is the records file here (as in InvenTree's own tasks), so the compose file is `--compose-file`.
struct RecordsProjectOptions: ParsableArguments, Sendable {
    @Option(name: [.customShort("C"), .customLong("project-directory")], help: "Compose project directory (default: found like docker compose does).")
    var projectDirectory: String?

    @Option(name: .customLong("compose-file"), help: "Compose file; repeat for overrides (default: COMPOSE_FILE or discovery).")
    var composeFile: [String] = []

    @Option(name: [.short, .customLong("project-name")], help: "Compose project name.")
    var projectName: String?

    @Option(name: .customLong("env-file"), help: "Env file for interpolation instead of .env; repeatable.")
    var envFile: [String] = []

    @Option(name: .customLong("db-service"), help: "The PostgreSQL service, when the image alone does not say.")
    var dbService: String?

    @Option(name: .customLong("context"), help: "Docker context to use (default: DOCKER_HOST, DOCKER_CONTEXT or `docker context use`'s choice, as docker does).")
    var contexts: [String] = []

    /// The one context (`nil`: docker's own choice); a repeated `--context` is refused (`EngineChoice`).
    var context: String? { contexts.last }

    var engineChoice: EngineChoice { EngineChoice(contexts: contexts, allContexts: false) }

    /// The runner for this run's children (see `GlobalOptions.runner()`).
    func runner() async throws -> any CommandRunning {
        if let refusal = engineChoice.refusal(command: nil) { throw refusal }
        return try await EngineRunner.make(context: context)
    }

    var composeOptions: ComposeOptions {
        ComposeOptions(projectDirectory: projectDirectory, files: composeFile, projectName: projectName, envFiles: envFile, dbService: dbService)
    }
}
