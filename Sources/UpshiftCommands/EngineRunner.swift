import UpshiftCompose
import UpshiftSupport

/// How a command gets its runner: live processes, every one sent to the same docker engine.
///
/// The engine is chosen once, before anything runs, the way docker chooses it (`EngineEndpoint.select`:
/// `--context`, `DOCKER_HOST`, `DOCKER_CONTEXT`, the current context), and then given to every child as
/// `DOCKER_CONTEXT` (`DockerEngineRunner`), so compose, helper containers and an undo all reach the engine
/// the run started on.
enum EngineRunner {
    static func make(context: String?) async throws -> any CommandRunning {
        let live = LiveCommandRunner()
        let engine = try await EngineEndpoint.select(context: context, runner: live)
        return DockerEngineRunner(base: live, engine: engine)
    }
}
