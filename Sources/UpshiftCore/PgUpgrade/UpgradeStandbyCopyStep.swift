import Foundation
import UpshiftPlans
import UpshiftSupport

/// The window's `standby` branch: `pg_upgrade --link` from the promoted copy into the cluster initialised
/// before the window (`TransferDataStep` on upshift's own directories), then the upgraded cluster recorded as
/// the prepared one (`StagedCluster`, with its system identifier from `pg_controldata`), so the prepared
/// branch's rename and identity proof apply to it. The user's cluster is not touched: the undo deletes
/// upshift's directories.
struct UpgradeStandbyCopyStep: PlanStep {
    var upgrade: PgUpgradeRun

    func planned() throws -> PlannedStep {
        var step = try TransferDataStep(upgrade: upgrade).planned()
        step.title = "Run pg_upgrade --link from the promoted copy \(upgrade.oldRelative) into \(upgrade.newRelative) (PostgreSQL \(upgrade.world.context.oldMajor) -> \(upgrade.world.context.options.targetMajor))"
        step.notes = ["the copy is upshift's: linking costs your cluster nothing, and it is never touched"]
        step.compensation = try StagedClusterCompensator.spec(world: upgrade.world)
        return step
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        _ = try await TransferDataStep(upgrade: upgrade).run(context)
        let controldata = try await upgrade.run(upgrade.tool.binNew + "/pg_controldata", [upgrade.newPath], what: "pg_controldata of the upgraded copy")
        guard let identifier = StopDatabaseStep.controlField("Database system identifier", pgControldata: controldata.stdoutText) else {
            throw UpshiftError("pg_controldata of the upgraded copy shows no system identifier")
        }
        let cluster = StagedCluster(
            relativePath: upgrade.newRelative, systemIdentifier: identifier,
            summary: "the standby's copy upgraded with pg_upgrade --link in the window")
        try cluster.write(upgrade.world.runFolder)
        return StepOutcome(summary: "pg_upgrade --link of the promoted copy: upgrade complete (system identifier \(identifier))")
    }
}
