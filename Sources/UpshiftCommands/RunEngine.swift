import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The docker engine a run changed things on (`engine.json` in its run folder): its context and endpoint.
///
/// Why: a rollback often runs in a fresh shell, hours later, where `docker context use` or `DOCKER_HOST`
/// may point elsewhere. Undoing against another engine would start containers and rename data there, or
/// fail half-way. So a rollback follows the run's context when the user named none, and refuses (exit 64,
/// nothing undone) when the engine they named is not the run's.
struct RunEngine: Sendable, Hashable, Codable {
    var context: String?
    var host: String

    static func path(_ folder: RunFolder) -> String { folder.path + "/engine.json" }

    /// What docker says about the engine `runner` reaches; nil when it cannot say (then nothing is recorded).
    static func read(_ runner: any CommandRunning) async -> RunEngine? {
        guard let endpoint = try? await EngineEndpoint.current(runner: runner) else { return nil }
        return RunEngine(context: endpoint.context, host: endpoint.host)
    }

    static func load(_ folder: RunFolder) -> RunEngine? {
        guard let data = FileManager.default.contents(atPath: path(folder)) else { return nil }
        return try? JSONDecoder().decode(RunEngine.self, from: data)
    }

    func write(_ folder: RunFolder) throws {
        try PrivateJSON.write(self, to: Self.path(folder))
    }

    var described: String { "\(host)" + (context.map { " (docker context \($0))" } ?? "") }

    /// The runner a rollback of a run recorded on `self` must use.
    /// - Parameters:
    ///   - runner: the runner the user's choice gives (`--context`, `DOCKER_HOST`, `DOCKER_CONTEXT`, the
    ///     current context).
    ///   - named: whether the user named an engine (`--context`, `DOCKER_HOST`, `DOCKER_CONTEXT`) rather than
    ///     leaving it to the current context.
    /// - Returns: `runner` when it reaches this engine; a runner on the run's context when the user named none
    ///   and that context still reaches it, with a note for stderr.
    func rollbackRunner(_ runner: any CommandRunning, named: Bool, runID: RunID) async throws -> (runner: any CommandRunning, note: String?) {
        guard let now = await Self.read(runner), now.host != host else { return (runner, nil) }
        if !named, let context {
            let live = LiveCommandRunner()
            let engine = try await EngineEndpoint.select(context: context, environment: [:], runner: live)
            let candidate = DockerEngineRunner(base: live, engine: engine)
            if let there = await Self.read(candidate), there.host == host {
                return (candidate, "run \(runID) ran on \(described); rolling back there, not on the current \(now.described)")
            }
        }
        throw UpshiftError.usage(
            "run \(runID) ran on the docker engine at \(described), but this rollback would talk to \(now.described): its containers and data are on the other engine; nothing was rolled back",
            hint: context.map { "run `upshift rollback --run \(runID) --context \($0)`" } ?? "set DOCKER_HOST=\(host) for the rollback")
    }
}
