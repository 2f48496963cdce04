import Foundation
import UpshiftPlans
import UpshiftSupport

/// Reads the old cluster's initdb-time settings while it still runs (checksums, encoding, locale, install
/// user), so the new cluster is initialised to match — pg_upgrade refuses any mismatch.
struct ReadClusterSettingsStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() -> PlannedStep {
        PlannedStep(
            id: "read-settings", title: "Read the old cluster's checksums, encoding, locale and install user", kind: "pg.read-settings",
            mutates: false, notes: ["saved as cluster-settings.json in the run folder"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let settings = try await ClusterSettings.read(try await world.serverConnection())
        guard settings.extraTablespaces.isEmpty else {
            throw UpshiftError(
                "the old cluster has tablespaces outside its data directory (\(settings.extraTablespaces.joined(separator: ", "))); pg_upgrade would need them mounted in the upgrade container too",
                hint: "use --method dump for this cluster")
        }
        _ = try settings.initdbArguments(newMajor: world.context.options.targetMajor)
        try settings.save(to: ClusterSettings.path(world.runFolder))
        return StepOutcome(summary: settings.summary)
    }
}
