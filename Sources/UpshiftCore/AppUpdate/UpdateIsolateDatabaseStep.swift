import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres

/// Publishes the database on 127.0.0.1 for upshift only (restart policy off), so it can be fingerprinted
/// through libpq. Undone by re-verifying the old fingerprint and recreating it from the user's files.
struct UpdateIsolateDatabaseStep: PlanStep {
    var world: AppUpdateWorld

    func planned() throws -> PlannedStep {
        let command = world.isolatedCompose.cli.command(["up", "-d", "--no-deps", world.dbService])
        let payload = RestoreDatabaseServicePayload(
            handle: world.context.handle, service: world.dbService, runFolder: world.runFolder.path,
            leaveStopped: !world.context.databaseWasRunning, readyTimeout: world.context.options.readyTimeout)
        let title = world.context.options.remoteEngine == nil
            ? "Publish \(world.dbService) on 127.0.0.1:\(world.context.hostPort) for upshift only, restart policy off"
            : "Recreate \(world.dbService) with restart policy off; upshift reaches it through docker exec (the engine is remote)"
        return PlannedStep(
            id: "isolate-db", title: title,
            kind: "app.isolate-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try CompensationSpec(
                kind: RestoreDatabaseServiceCompensator.kind,
                description: "verify \(world.dbService)'s fingerprint equals the one taken before the run, recreate it from the original files",
                typedPayload: payload))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        if world.context.options.remoteEngine == nil {
            try IsolationOverride.write(path: world.overridePath, service: world.dbService, hostPort: world.context.hostPort)
        } else {
            // The engine's loopback is not this host's: nothing is published there (the tunnel listens here).
            try IsolationOverride.write(path: world.overridePath, service: world.dbService, settings: ["restart": "no"])
        }
        try await world.isolatedCompose.up([world.dbService])
        context.progress("waiting for \(world.dbService) on 127.0.0.1:\(world.context.hostPort)")
        try await world.waitForServer()
        return StepOutcome(summary: "reachable on 127.0.0.1:\(world.context.hostPort)")
    }
}
