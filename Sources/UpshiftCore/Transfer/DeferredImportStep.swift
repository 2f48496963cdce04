import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// An import step run with the import world built from the real export file, which only exists once the
/// export step ran; planned with the import world known at plan time (`TransferWorld.planningImportWorld`).
struct DeferredImportStep: PlanStep {
    var world: TransferWorld
    /// Replaces the import step's notes in the plan, which at plan time cannot describe the file.
    var notes: [String]? = nil
    var make: @Sendable (RecordsImportWorld) -> any PlanStep

    func planned() throws -> PlannedStep {
        var planned = try make(world.planningImportWorld).planned()
        if let notes { planned.notes = notes }
        return planned
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await make(try world.importWorld()).run(context)
    }
}
