import Foundation

/// pg_upgrade's own after-care: run `update_extensions.sql` when it wrote one, then refresh planner
/// statistics — on 18, which carries most optimizer statistics over, only the missing ones
/// (`--missing-stats-only`); before 18 everything, in stages so the first queries are usable quickly.
/// pg_upgrade's scripts land in the new data directory (its working directory); upshift removes
/// `delete_old_cluster.sh` from there, because the old cluster is kept until the user prunes it.
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
        let script = upgrade.newPath + "/update_extensions.sql"
        let read = try await world.runner.run(upgrade.tool.command(upgrade.mount, tool: "cat", [script], timeout: .seconds(120)))
        if read.termination.isSuccess, !read.stdoutText.isEmpty {
            var psql = world.isolatedCompose.execCommand(world.service, ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", world.database.superuser, "-d", "postgres"], environment: env, timeout: .seconds(3600))
            psql.standardInput = read.standardOutput
            context.progress("running update_extensions.sql")
            let result = try await world.runner.run(psql, stdout: .discard, onLine: nil)
            try result.check(redactor: world.redactor)
            notes.append("extensions updated")
        }
        _ = try? await world.runner.run(upgrade.tool.command(upgrade.mount, tool: "rm", ["-f", script, upgrade.newPath + "/delete_old_cluster.sh"], timeout: .seconds(120)))
        let command = world.isolatedCompose.execCommand(world.service, Self.vacuumArguments(upgrade), environment: env, timeout: .seconds(6 * 3600))
        context.progress(Self.vacuumArguments(upgrade).joined(separator: " "))
        let result = try await world.runner.run(command, stdout: .discard, onLine: nil)
        try result.check(redactor: world.redactor)
        notes.append("statistics refreshed")
        return StepOutcome(summary: notes.joined(separator: "; "))
    }
}
