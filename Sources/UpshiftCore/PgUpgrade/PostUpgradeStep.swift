import Foundation

/// pg_upgrade's own after-care: run `update_extensions.sql` when it wrote one, then refresh planner
/// statistics — on 18, which carries most optimizer statistics over, only the missing ones
/// (`--missing-stats-only`); before 18 everything, in stages so the first queries are usable quickly.
/// The script was collected from the new data directory by the pg-upgrade step (`TransferDataStep`).
struct PostUpgradeStep: StepAction {
    var upgrade: PgUpgradeRun

    static func vacuumArguments(_ upgrade: PgUpgradeRun) -> [String] {
        var args = ["vacuumdb", "-U", upgrade.world.database.superuser, "--all", "--analyze-in-stages"]
        if upgrade.world.context.options.targetMajor >= 18 { args.append("--missing-stats-only") }
        return args + ["--jobs", String(upgrade.world.context.jobs)]
    }

    static func planned(_ upgrade: PgUpgradeRun) -> PlannedStep {
        let world = upgrade.world
        let vacuum = world.isolatedCompose.execCommand(world.service, vacuumArguments(upgrade))
        return PlannedStep(
            id: "analyze", title: "Run update_extensions.sql if pg_upgrade wrote one, then \(vacuumArguments(upgrade).dropFirst(3).joined(separator: " "))",
            kind: "pg.analyze", commands: PlannedStep.render([vacuum], redactor: world.redactor), mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = upgrade.world
        let env = world.database.passwordEnvironment
        var notes: [String] = []
        if let script = FileManager.default.contents(atPath: TransferDataStep.extensionsScript(world)), !script.isEmpty {
            var psql = world.isolatedCompose.execCommand(world.service, ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", world.database.superuser, "-d", "postgres"], environment: env, timeout: .seconds(3600))
            psql.standardInput = script
            context.progress("running update_extensions.sql")
            let result = try await world.runner.run(psql, stdout: .discard, onLine: nil)
            try result.check(redactor: world.redactor)
            notes.append("extensions updated")
        }
        let command = world.isolatedCompose.execCommand(world.service, Self.vacuumArguments(upgrade), environment: env, timeout: .seconds(6 * 3600))
        context.progress(Self.vacuumArguments(upgrade).joined(separator: " "))
        let result = try await world.runner.run(command, stdout: .discard, onLine: nil)
        try result.check(redactor: world.redactor)
        notes.append("statistics refreshed")
        return StepOutcome(summary: notes.joined(separator: "; "))
    }
}
