import Foundation
import UpshiftPlans

/// pg_upgrade's own after-care: run `update_extensions.sql` when it wrote one, then refresh planner
/// statistics — on 18, which carries most optimizer statistics over, only the missing ones
/// (`--missing-stats-only`); before 18 everything, in stages so the first queries are usable quickly.
/// The script was collected from the new data directory by the pg-upgrade step (`TransferDataStep`).
struct PostUpgradeStep: PlanStep {
    var upgrade: PgUpgradeRun
    /// The service's server (the window) or the staged one-off server (`StagedUpgrade`, before it).
    var target: ServerTarget = .service

    static func vacuumArguments(_ upgrade: PgUpgradeRun) -> [String] {
        var args = ["vacuumdb", "-U", upgrade.world.database.superuser, "--all", "--analyze-in-stages"]
        if upgrade.world.context.options.targetMajor >= 18 { args.append("--missing-stats-only") }
        return args + ["--jobs", String(upgrade.world.context.jobs)]
    }

    func planned() -> PlannedStep {
        let world = upgrade.world
        let vacuum = world.isolatedCompose.execCommand(world.service, Self.vacuumArguments(upgrade))
        return PlannedStep(
            id: "analyze", title: "Run update_extensions.sql if pg_upgrade wrote one, then \(Self.vacuumArguments(upgrade).dropFirst(3).joined(separator: " "))",
            kind: "pg.analyze", commands: PlannedStep.render([vacuum], redactor: world.redactor), mutates: false,
)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        return StepOutcome(summary: try await afterCare(context))
    }

    /// Runs the script and the analyze on `target`; returns the summary.
    func afterCare(_ context: StepContext) async throws -> String {
        let world = upgrade.world
        let env = world.database.passwordEnvironment
        var notes: [String] = []
        if let script = FileManager.default.contents(atPath: TransferDataStep.extensionsScript(world)), !script.isEmpty {
            var psql = target.exec(world, ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", world.database.superuser, "-d", "postgres"], environment: env, stdin: true)
            psql.standardInput = script
            context.progress("running update_extensions.sql")
            let result = try await world.runner.run(psql, stdout: .discard, onLine: nil)
            try result.check(redactor: world.redactor)
            notes.append("extensions updated")
        }
        let command = target.exec(world, Self.vacuumArguments(upgrade), environment: env)
        context.progress(Self.vacuumArguments(upgrade).joined(separator: " "))
        let result = try await world.runner.run(command, stdout: .discard, onLine: nil)
        try result.check(redactor: world.redactor)
        notes.append("statistics refreshed")
        return notes.joined(separator: "; ")
    }
}
