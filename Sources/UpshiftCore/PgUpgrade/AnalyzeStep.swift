import Foundation
import UpshiftPlans
import UpshiftPostgres

/// Post-restore work so the application is not slow on its first queries: `ALTER EXTENSION …
/// UPDATE` where the new image ships a newer default version, then one `vacuumdb --all --analyze-only` pass
/// with the run's jobs. Not `--analyze-in-stages`: its three passes make statistics usable early for an
/// application that is already running, but here the application waits for this step, so the staged
/// passes only lengthen the downtime (a restored cluster has no statistics at all; one full pass is needed).
struct AnalyzeStep: PlanStep {
    var world: PgUpgradeWorld
    var target: ServerTarget = .service

    func planned() -> PlannedStep {
        let vacuum = world.isolatedCompose.execCommand(world.service, Self.vacuumArguments(world))
        return PlannedStep(
            id: "analyze", title: "Update extensions and analyze (\(Self.vacuumArguments(world).dropFirst(3).joined(separator: " ")))", kind: "pg.analyze",
            commands: PlannedStep.render([vacuum], redactor: world.redactor), mutates: false,
)
    }

    static func vacuumArguments(_ world: PgUpgradeWorld) -> [String] {
        ["vacuumdb", "-U", world.database.superuser, "--all", "--analyze-only", "--jobs", String(max(1, world.context.jobs))]
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        return StepOutcome(summary: try await analyze())
    }

    /// Updates extensions and analyzes every database of the target; returns the summary.
    func analyze() async throws -> String {
        let parameters = try await target.connection(world)
        let updated = try await Blocking.run { () throws -> [String] in
            var updated: [String] = []
            let databases = try Connection(parameters).query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate").rows.compactMap { try $0.string("datname") }
            for db in databases {
                let conn = try Connection(parameters.with(database: db))
                let stale = try conn.query("SELECT name FROM pg_available_extensions WHERE installed_version IS NOT NULL AND installed_version <> default_version").rows.compactMap { try $0.string("name") }
                for name in stale {
                    _ = try conn.execute("ALTER EXTENSION \(quoteIdentifier(name)) UPDATE")
                    updated.append("\(db).\(name)")
                }
            }
            return updated
        }
        let env = world.database.passwordEnvironment
        let command = target.exec(world, Self.vacuumArguments(world), environment: env)
        let result = try await world.runner.run(command, stdout: .discard, onLine: nil)
        try result.check(redactor: world.redactor)
        return "analyzed" + (updated.isEmpty ? "" : "; extensions updated: \(updated.joined(separator: ", "))")
    }
}
