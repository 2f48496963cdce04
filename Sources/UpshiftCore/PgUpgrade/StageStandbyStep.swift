import Foundation
import UpshiftPlans
import UpshiftSupport

/// Before the window, when the application has written since the snapshot: copies the serving cluster
/// (`pg_basebackup`, as for the staged upgrade) and starts a standby of the old major on the copy that
/// follows the serving cluster until the window (`StandbyServer`). The user's cluster is only read.
struct StageStandbyStep: PlanStep {
    var staging: StagedUpgrade

    func planned() throws -> PlannedStep {
        let world = staging.world
        let copy = PrivateCopy(world: world, upgrade: staging.upgrade)
        let standby = StandbyServer(world: world, upgrade: staging.upgrade)
        return PlannedStep(
            id: "stage-standby",
            title: "Before the window: copy the serving cluster to \(staging.upgrade.oldRelative) (pg_basebackup) and keep it current as a PostgreSQL \(world.context.oldMajor) standby",
            kind: "pg.stage-standby",
            commands: PlannedStep.render([copy.backupCommand(container: "<\(world.service) container>"), standby.runCommand(container: "<\(world.service) container>")], redactor: world.redactor),
            mutates: true, compensation: try StagedClusterCompensator.spec(world: world),
            notes: ["the standby streams from the serving server over 127.0.0.1 in its network namespace; no replication slot, nothing of yours changes"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = staging.world
        let server = try staging.onlineServer()
        let copy = PrivateCopy(world: world, upgrade: staging.upgrade)
        try await copy.take(context)
        let standby = StandbyServer(world: world, upgrade: staging.upgrade)
        try await standby.start(container: try await DumpClusterStep(world: world).container(), context: context)
        try await ClusterSettings.read(server).save(to: ClusterSettings.path(world.runFolder))
        try PrivateJSON.write(["container": standby.name], to: StandbyServer.path(world.runFolder))
        return StepOutcome(summary: "copied to \(staging.upgrade.oldRelative); a standby follows the serving cluster (\(standby.name))")
    }
}
