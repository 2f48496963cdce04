import Foundation
import UpshiftPlans

/// First step of the window's `changed` branch when the run staged: the cluster prepared before the window
/// shows an older state, so it (and the pg_upgrade method's private copy) is deleted before the window
/// does the work in place. Deletes only directories this run named (`StagedCluster.discard`).
struct DiscardStagedStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() -> PlannedStep {
        PlannedStep(
            id: "discard-staged", title: "Delete the cluster prepared before the window (it shows an older state)",
            kind: "pg.discard-staged", mutates: true, compensation: nil,
            notes: ["only \(StagedCluster.ownDirectories(world).joined(separator: " and ")), made by this run; nothing of yours"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let had = try StagedCluster.load(world.runFolder) != nil
        try await StagedCluster.discard(world, progress: context.progress)
        try? FileManager.default.removeItem(atPath: StagedCluster.path(world.runFolder))
        return StepOutcome(summary: had ? "the staged cluster was deleted" : "nothing was staged")
    }
}
