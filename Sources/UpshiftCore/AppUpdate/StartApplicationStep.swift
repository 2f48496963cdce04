import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Drops the isolation override (recreating the database from the user's files) and starts the
/// application on its new version, then watches until every service stays up.
struct StartApplicationStep: PlanStep {
    var world: AppUpdateWorld

    func planned() throws -> PlannedStep {
        let services = [world.dbService] + world.context.servicesToStart
        let command = world.compose.cli.command(["up", "-d", "--no-deps"] + services)
        return PlannedStep(
            id: "start-stack", title: "Start the stack: \(services.joined(separator: ", "))", kind: "app.start-stack",
            commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try ComposeServicesCompensator.spec(handle: world.context.handle, services: world.context.servicesToStart, action: .stop,
                                                              description: "stop \(world.context.servicesToStart.joined(separator: ", "))"))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let ctx = world.context
        try await world.compose.up([world.dbService], wait: true, timeout: .seconds(ctx.options.readyTimeout))
        try await world.compose.up(ctx.servicesToStart, timeout: .seconds(ctx.options.readyTimeout))
        let services = [world.dbService] + ctx.servicesToStart
        try await ComposeOperations.waitStable(world.compose, services: services, timeout: ctx.options.readyTimeout)
        try? FileManager.default.removeItem(atPath: world.overridePath)
        return StepOutcome(summary: "running: \(services.joined(separator: ", "))")
    }
}

/// The application answers with the new version: InvenTree `invoke version`; otherwise the running
/// container's image is the target.
struct VerifyVersionStep: PlanStep {
    var world: AppUpdateWorld

    func planned() -> PlannedStep {
        var commands: [String] = []
        if world.context.isInvenTree {
            let tasks = InvenTreeTasks(compose: world.compose, server: world.context.appService, noDeps: true)
            commands = PlannedStep.render([tasks.invokeCommand(["version"])], redactor: world.redactor)
        }
        return PlannedStep(id: "verify", title: "Verify the application reports \(world.context.options.targetVersion)", kind: "app.verify",
                           commands: commands, mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let ctx = world.context
        if ctx.isInvenTree, let target = ctx.targetVersion {
            let reported = try await InvenTreeTasks(compose: world.compose, server: ctx.appService, noDeps: true).version()
            guard reported == target else {
                throw UpshiftError("after the update `invoke version` reports \(reported), not \(target)")
            }
            return StepOutcome(summary: "invoke version: InvenTree \(reported)")
        }
        let containers = try await world.compose.cli.containers() ?? []
        let images = Set(containers.filter { $0.service == ctx.appService && $0.isRunning }.compactMap(\.image))
        guard images.contains(where: { ImageReference(parsing: $0) == ctx.targetImage }) else {
            throw UpshiftError("\(ctx.appService) runs \(images.sorted().joined(separator: ", ")), not \(ctx.targetImage)")
        }
        return StepOutcome(summary: "\(ctx.appService) runs \(ctx.targetImage)")
    }
}
