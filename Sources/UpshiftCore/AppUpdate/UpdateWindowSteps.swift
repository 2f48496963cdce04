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

/// Stops every running service except the database, so nothing writes during backup and migration.
struct UpdateStopApplicationStep: PlanStep {
    var world: AppUpdateWorld

    func planned() throws -> PlannedStep {
        let apps = world.context.runningApplicationServices
        let command = world.compose.cli.command(["stop", "-t", String(world.context.options.stopTimeout)] + apps)
        return PlannedStep(
            id: "stop-app", title: apps.isEmpty ? "No application service is running" : "Stop the application: \(apps.joined(separator: ", "))",
            kind: "app.stop", commands: apps.isEmpty ? [] : PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try ComposeServicesCompensator.spec(handle: world.context.handle, services: apps, action: .start,
                                                              description: "start \(apps.isEmpty ? "nothing" : apps.joined(separator: ", ")) again"))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await world.compose.stop(world.context.runningApplicationServices, timeout: world.context.options.stopTimeout)
        return StepOutcome(summary: world.context.runningApplicationServices.isEmpty ? "nothing to stop" : "stopped \(world.context.runningApplicationServices.joined(separator: ", "))")
    }
}

/// Publishes the database on 127.0.0.1 for upshift only (restart policy off), so it can be fingerprinted
/// through libpq. Undone by re-verifying the old fingerprint and recreating it from the user's files.
struct UpdateIsolateDatabaseStep: PlanStep {
    var world: AppUpdateWorld

    func planned() throws -> PlannedStep {
        let command = world.isolatedCompose.cli.command(["up", "-d", "--no-deps", world.dbService])
        let payload = RestoreDatabaseServicePayload(
            handle: world.context.handle, service: world.dbService, runFolder: world.runFolder.path,
            leaveStopped: !world.context.databaseWasRunning, readyTimeout: world.context.options.readyTimeout)
        return PlannedStep(
            id: "isolate-db", title: "Publish \(world.dbService) on 127.0.0.1:\(world.context.hostPort) for upshift only, restart policy off",
            kind: "app.isolate-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try CompensationSpec(
                kind: RestoreDatabaseServiceCompensator.kind,
                description: "verify \(world.dbService)'s fingerprint equals the one taken before the run, recreate it from the original files",
                typedPayload: payload))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try IsolationOverride.write(path: world.overridePath, service: world.dbService, hostPort: world.context.hostPort)
        try await world.isolatedCompose.up([world.dbService])
        context.progress("waiting for \(world.dbService) on 127.0.0.1:\(world.context.hostPort)")
        try await world.waitForServer()
        return StepOutcome(summary: "reachable on 127.0.0.1:\(world.context.hostPort)")
    }
}

/// The "before" fingerprint (rows and checksum of every table) that rollback verification compares with.
struct UpdateFingerprintStep: PlanStep {
    var world: AppUpdateWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "fingerprint", title: "Fingerprint the database (rows and checksum per table)", kind: "app.fingerprint", mutates: false,
                    notes: ["libpq to 127.0.0.1:\(world.context.hostPort); a rollback must reproduce it exactly"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let fingerprint = try await Fingerprinter.captureAsync(world.context.connection())
        try FingerprintStep.save(fingerprint, to: FingerprintStep.path(world.runFolder, .before))
        let tables = fingerprint.databases.reduce(0) { $0 + $1.tables.count }
        let rows = fingerprint.databases.reduce(0) { $0 + $1.totalRows }
        return StepOutcome(summary: "\(fingerprint.databases.count) databases, \(tables) tables, \(rows) rows")
    }
}
