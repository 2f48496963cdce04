import Foundation

/// Step 4b: recreate the database container with a generated override that publishes it on 127.0.0.1 only
/// and disables its restart policy, so upshift can fingerprint it through libpq and nothing restarts it
/// behind upshift's back. Undone by recreating it from the user's files (after verifying the old
/// fingerprint, when one was taken).
struct IsolateDatabaseStep: StepAction {
    var world: PgUpgradeWorld

    static func planned(_ world: PgUpgradeWorld) throws -> PlannedStep {
        let command = world.isolatedCompose.cli.command(["up", "-d", "--no-deps", world.service])
        return PlannedStep(
            id: "isolate-db", title: "Publish \(world.service) on 127.0.0.1:\(world.context.hostPort) for upshift only, restart policy off",
            kind: "pg.isolate-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try RestoreDatabaseServiceCompensator.spec(world: world))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try IsolationOverride.write(path: world.overridePath, service: world.service, hostPort: world.context.hostPort)
        try await world.isolatedCompose.up([world.service])
        context.progress("waiting for PostgreSQL \(world.context.oldMajor) on 127.0.0.1:\(world.context.hostPort)")
        try await world.waitForServer()
        return StepOutcome(summary: "reachable on 127.0.0.1:\(world.context.hostPort)")
    }
}
