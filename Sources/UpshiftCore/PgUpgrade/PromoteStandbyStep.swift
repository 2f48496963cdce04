import Foundation
import UpshiftPlans
import UpshiftSupport

/// In the window's `standby` branch, after the old server shut down cleanly: proves the standby replayed the
/// old server's shutdown checkpoint — its last record, read with `pg_controldata` — so the copy holds every
/// committed row; then promotes it, gives its sequences the old cluster's values (a standby replays them up
/// to 32 ahead) and shuts it down cleanly for pg_upgrade (`StandbyServer`). A standby that
/// did not get there fails the run, and the undo brings the untouched old cluster back.
struct PromoteStandbyStep: PlanStep {
    var upgrade: PgUpgradeRun

    func planned() throws -> PlannedStep {
        let world = upgrade.world
        return PlannedStep(
            id: "promote-standby", title: "Prove the standby replayed the old server's shutdown checkpoint, promote it and shut it down cleanly",
            kind: "pg.promote-standby", mutates: true, compensation: try StagedClusterCompensator.spec(world: world),
            notes: ["pg_controldata of the stopped old cluster (Latest checkpoint location) against pg_last_wal_replay_lsn() of the standby"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = upgrade.world
        let standby = StandbyServer(world: world, upgrade: upgrade)
        let live = StopDatabaseStep.containerPGDATA(world)
        let controldata = try await upgrade.run(upgrade.tool.binOld + "/pg_controldata", [live], what: "pg_controldata of the old cluster")
        let state = StopDatabaseStep.clusterState(pgControldata: controldata.stdoutText)
        guard state == "shut down", let checkpoint = StopDatabaseStep.controlField("Latest checkpoint location", pgControldata: controldata.stdoutText) else {
            throw UpshiftError("the old cluster is not cleanly shut down (pg_controldata: \(state)); the standby cannot be proven current")
        }
        context.progress("waiting for the standby to replay the shutdown checkpoint at \(checkpoint)")
        let replayed = try await standby.waitReplayed(past: checkpoint, deadline: world.readyDeadline)
        context.progress("promoting the standby")
        try await standby.promote()
        let old = try FingerprintFile.load(FingerprintStep.path(world.runFolder, .before))
        let sequences = try await standby.restoreSequences(old)
        try await standby.stop()
        return StepOutcome(summary: "the standby replayed up to \(replayed), past the old server's shutdown checkpoint at \(checkpoint); promoted, \(sequences) sequence value(s) set to the old cluster's, shut down cleanly")
    }
}
