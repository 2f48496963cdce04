import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Runs the new version's migrations: InvenTree `invoke update --skip-backup` with the new image (the
/// backup was just taken, and a plain `update` would only add another one); a generic application is
/// started on its new image and must stay running (it migrates on start, if at all).
///
/// Undo cannot be "swap the tag back": the schema has changed. The compensation restores the database
/// from upshift's dump, and the isolate-db compensation then proves it equals the "before" fingerprint.
struct MigrateStep: PlanStep {
    var world: AppUpdateWorld

    static func restorePayload(_ world: AppUpdateWorld) -> RestoreDumpPayload {
        RestoreDumpPayload(
            handle: world.context.handle, service: world.dbService,
            applicationServices: Array(Set(world.context.appServices + world.context.runningApplicationServices)).sorted(),
            dumpPath: world.context.dumpPath, overridePath: world.overridePath, readyTimeout: world.context.options.readyTimeout)
    }

    func planned() throws -> PlannedStep {
        let context = world.context
        let commands: [Command]
        let title: String
        var notes: [String] = []
        if context.isInvenTree, context.targetFlags != nil {
            commands = context.updateTasks.map { world.tasks.invokeCommand($0) }
            title = "Migrate: \(InvokeFlags.describe(context.updateTasks)) with InvenTree \(context.options.targetVersion)"
            if let note = context.packageIndex?.installLeftOutNote { notes.append(note) }
        } else {
            commands = [world.isolatedCompose.cli.command(["up", "-d", "--no-deps", context.appService])]
            title = "Start \(context.appService) on \(context.targetImage) (the application migrates itself)"
        }
        return PlannedStep(
            id: "migrate", title: title, kind: "app.migrate", commands: PlannedStep.render(commands, redactor: world.redactor), mutates: true,
            compensation: try RestoreDumpCompensator.spec(Self.restorePayload(world)), notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let ctx = world.context
        if ctx.isInvenTree, ctx.targetFlags != nil {
            var applied = 0
            for task in ctx.updateTasks {
                let result = try await world.tasks.invoke(task, onLine: { line in
                    let text = line.trimmingCharacters(in: .whitespaces)
                    if text.hasPrefix("Applying") || text.contains("migrations") || text.contains("update complete") { context.progress(text) }
                })
                applied += InvokeOutput.stripANSI(result.stdoutText).split(whereSeparator: \.isNewline).filter { $0.contains("Applying") }.count
            }
            return StepOutcome(summary: "\(InvokeFlags.describe(ctx.updateTasks)) completed" + (applied > 0 ? " (\(applied) migrations)" : ""))
        }
        try await world.isolatedCompose.up([ctx.appService])
        try await ComposeOperations.waitStable(world.isolatedCompose, services: [ctx.appService], timeout: ctx.options.readyTimeout)
        return StepOutcome(summary: "\(ctx.appService) running on \(ctx.targetImage)")
    }
}
