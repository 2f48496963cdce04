import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Starts the target's application services that were running before.
struct StartTargetApplicationStep: PlanStep {
    var world: RecordsImportWorld

    func planned() throws -> PlannedStep {
        let services = world.context.runningAppServices
        return PlannedStep(
            id: "start-app", title: services.isEmpty ? "Nothing to start" : "Start the target's application: \(services.joined(separator: ", "))",
            kind: "records.start-app", commands: services.isEmpty ? [] : PlannedStep.render([world.target.compose.cli.command(["up", "-d", "--no-deps"] + services)], redactor: world.redactor),
            mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let services = world.context.runningAppServices
        guard !services.isEmpty else { return StepOutcome(summary: "nothing to start") }
        try await world.target.compose.up(services)
        return StepOutcome(summary: "started \(services.joined(separator: ", "))")
    }
}
