import Foundation
import UpshiftPlans

/// The window's `standby` branch, after pg_upgrade and the configuration carry: deletes the promoted copy.
/// Its files live on, linked, in the upgraded cluster; the copy itself must never start again, since a
/// server on it would write into files both share.
struct DeleteCopyStep: PlanStep {
    var upgrade: PgUpgradeRun

    func planned() -> PlannedStep {
        PlannedStep(
            id: "delete-copy", title: "Delete the promoted copy \(upgrade.oldRelative) (its files live on, linked, in the upgraded cluster)",
            kind: "pg.delete-copy", mutates: true, compensation: nil, notes: ["only upshift's copy, made by this run"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = upgrade.world
        try await StagedCluster.discard(
            relativePaths: [upgrade.oldRelative], mount: upgrade.mount, image: world.database.imageText,
            runID: world.context.runID.rawValue, runner: world.runner, present: true, progress: context.progress)
        return StepOutcome(summary: "deleted \(upgrade.oldRelative)")
    }
}
