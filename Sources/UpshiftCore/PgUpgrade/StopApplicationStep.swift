import Foundation
import UpshiftCompose
import UpshiftPlans

/// Stop every service except the database, so nothing writes during the dump and restore.
/// Undone by starting exactly the services that were running.
struct StopApplicationStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() throws -> PlannedStep {
        let apps = world.context.applicationServices
        let command = world.compose.cli.command(["stop", "-t", String(world.context.options.stopTimeout)] + apps)
        return PlannedStep(
            id: "stop-app", title: apps.isEmpty ? "No application service is running" : "Stop the application: \(apps.joined(separator: ", "))",
            kind: "pg.stop-app", commands: apps.isEmpty ? [] : PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try ComposeServicesCompensator.spec(
                handle: world.context.handle, services: apps, action: .start,
                description: "start \(apps.isEmpty ? "nothing" : apps.joined(separator: ", ")) again"))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await world.compose.stop(world.context.applicationServices, timeout: world.context.options.stopTimeout)
        return StepOutcome(summary: world.context.applicationServices.isEmpty ? "nothing to stop" : "stopped \(world.context.applicationServices.joined(separator: ", "))")
    }
}
