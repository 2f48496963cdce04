import Foundation

/// Step 4b: recreate the database container with a generated override that publishes it on 127.0.0.1 only
/// and disables its restart policy, so upshift can fingerprint it through libpq and nothing restarts it
/// behind upshift's back. Undone by recreating it from the user's files (after verifying the old
/// fingerprint, when one was taken). When upshift reaches containers at their addresses
/// (`PgUpgradeWorld.reachesContainersDirectly`) the container is left as it is.
struct IsolateDatabaseStep: StepAction {
    var world: PgUpgradeWorld

    static func planned(_ world: PgUpgradeWorld) throws -> PlannedStep {
        if world.reachesContainersDirectly {
            return PlannedStep(
                id: "isolate-db", title: "Reach \(world.service) at its container address for upshift (not recreated)",
                kind: "pg.isolate-db", commands: [], mutates: true,
                compensation: try RestoreDatabaseServiceCompensator.spec(world: world),
                notes: ["the application is stopped; the window's compose override is written for the record and for undo"])
        }
        let command = world.isolatedCompose.cli.command(["up", "-d", "--no-deps", world.service])
        return PlannedStep(
            id: "isolate-db", title: "Publish \(world.service) on 127.0.0.1:\(world.context.hostPort) for upshift only, restart policy off",
            kind: "pg.isolate-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try RestoreDatabaseServiceCompensator.spec(world: world))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        // Written in both cases: the window's compose commands name it, and the undo recreates from the user's files.
        try IsolationOverride.write(path: world.overridePath, service: world.service, hostPort: world.context.hostPort)
        if world.reachesContainersDirectly {
            // Reached at its container's address: recreating it would only cost downtime and a cold cache.
            let parameters = try await world.serverConnection()
            try await world.waitForServer(parameters)
            return StepOutcome(summary: "reachable at \(parameters.host):5432 (container address); not recreated")
        }
        try await world.isolatedCompose.up([world.service])
        context.progress("waiting for PostgreSQL \(world.context.oldMajor) on 127.0.0.1:\(world.context.hostPort)")
        try await world.waitForServer()
        return StepOutcome(summary: "reachable on 127.0.0.1:\(world.context.hostPort)")
    }
}
