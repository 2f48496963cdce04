import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres

/// Byte-exact copies of the compose files and `.env` before anything changes (the tag edit's undo).
struct UpdateSnapshotStep: PlanStep {
    var world: AppUpdateWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "snapshot", title: "Snapshot compose files and .env", kind: "app.snapshot", mutates: false,
                    notes: ["into \(world.runFolder.snapshotDirectory)"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let manifest = try world.runFolder.snapshot(files: world.snapshotFiles)
        return StepOutcome(summary: "\(manifest.entries.count) files saved")
    }
}
