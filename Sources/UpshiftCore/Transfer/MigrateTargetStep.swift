import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// `invoke migrate` on the target: the schema must exist at the right version before records load
/// (reference §7.1; `update` would also pip-install, which needs the network).
struct MigrateTargetStep: PlanStep {
    var world: RecordsImportWorld

    func planned() throws -> PlannedStep {
        PlannedStep(id: "migrate-target", title: "Initialise the target's schema: invoke migrate", kind: "records.migrate",
                    commands: PlannedStep.render([world.target.tasks.invokeCommand(["migrate"])], redactor: world.redactor),
                    mutates: true, compensation: try world.restoreSpec())
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let result = try await world.target.tasks.migrate(progress: context.progress)
        let applied = InvokeOutput.stripANSI(result.stdoutText).split(whereSeparator: \.isNewline).filter { $0.contains("Applying") }.count
        return StepOutcome(summary: "invoke migrate completed (\(applied) migrations applied)")
    }
}
