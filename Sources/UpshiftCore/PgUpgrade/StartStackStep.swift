import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Drop the isolation override (recreating the database from the user's files, unless it already
/// started from them) and start every service that was running before, then check each one runs.
struct StartStackStep: PlanStep {
    var world: PgUpgradeWorld
    /// The branch started the new server from the user's files (`StartNewDatabaseStep.finalForm`): it is
    /// not recreated, and the full recheck's reference point was read before the window ended.
    var serverInFinalForm = false

    func planned() throws -> PlannedStep {
        let services = [world.service] + world.context.applicationServices
        var commands = serverInFinalForm ? [] : [
            world.compose.cli.command(["up", "-d", "--no-deps", world.service]),
            world.compose.execCommand(world.service, Self.readyProbe(world)),
        ]
        if !world.context.applicationServices.isEmpty {
            commands.append(world.compose.cli.command(["up", "-d", "--no-deps"] + world.context.applicationServices))
        }
        return PlannedStep(
            id: "start-stack", title: "Start the stack on PostgreSQL \(world.context.options.targetMajor): \(services.joined(separator: ", "))",
            kind: "pg.start-stack", commands: PlannedStep.render(commands, redactor: world.redactor), mutates: true,
            compensation: try ComposeServicesCompensator.spec(
                handle: world.context.handle, services: services, action: .stop, description: "stop \(services.joined(separator: ", "))"),
            notes: serverInFinalForm ? ["\(world.service) already runs from your files: not recreated"] : [])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let compose = world.compose
        let timeout = Duration.seconds(world.context.options.readyTimeout)
        // The verified server ran on the window's private network: `up` recreates it from the user's files
        // (its networks, ports and restart policy back), and the application starts once it answers.
        // The window checked unchanged tables by size only: the full recheck follows once the application
        // runs (`FullRecheck`). Its reference point is read now, while nothing else can reach the server.
        // A server already started from the user's files (`StartNewDatabaseStep.finalForm`) is not
        // recreated: its reference point was read on the replica before the window ended.
        var windowEnd: FullRecheck.WindowEnd?
        if Self.verifiedInPart(world) {
            do { windowEnd = try await serverInFinalForm ? FullRecheck.savedWindowEnd(world) : FullRecheck.windowEnd(world) } catch {
                context.progress("no full recheck after the window: \(world.redactor.redact("\(error)"))")
            }
        }
        if !serverInFinalForm {
            try await compose.up([world.service], timeout: timeout)
            // Ready is polled directly rather than through `up --wait`: that waits for the next healthcheck
            // run (its interval, seconds of downtime) although the server answers well before. A server in
            // its final form was already proven ready by start-new-db and verify.
            try await waitAcceptingConnections(compose)
        }
        if let windowEnd {
            // Hold this instant for the recheck. Without it the window's check stands.
            do { try await FullRecheck.hold(world, windowEnd: windowEnd) } catch {
                context.progress("no full recheck after the window: \(world.redactor.redact("\(error)"))")
            }
        }
        do {
            return try await startApplications(context)
        } catch {
            // An open transaction would hold up a smart shutdown of the server the undo stops.
            FullRecheck.release(world.context.runID)
            throw error
        }
    }

    /// The application services, then the check that every service keeps running.
    func startApplications(_ context: StepContext) async throws -> StepOutcome {
        let compose = world.compose
        let timeout = Duration.seconds(world.context.options.readyTimeout)
        if !world.context.applicationServices.isEmpty {
            try await compose.up(world.context.applicationServices, timeout: timeout)
        }
        // A service that starts and then exits (a failed migration, a crash loop) is a failure: watch for a
        // few seconds until every service is running together.
        let expected = [world.service] + world.context.applicationServices
        do {
            try await ComposeOperations.waitStable(compose, services: expected, timeout: min(60, world.context.options.readyTimeout))
        } catch let error as UpshiftError {
            throw UpshiftError("after the upgrade " + error.message, hint: error.hint, exitCode: error.exitCode)
        }
        try? FileManager.default.removeItem(atPath: world.overridePath)
        // Every container runs from the user's files again, so the window's private network is empty.
        if let problem = await WindowIsolation.removeNetwork(WindowIsolation.networkName(runID: world.context.runID.rawValue), runner: world.runner) {
            context.progress(problem)
        }
        return StepOutcome(summary: "running: \(Set(expected).sorted().joined(separator: ", "))")
    }

    /// Whether the window's verification left tables to their file sizes (the standby branch).
    static func verifiedInPart(_ world: PgUpgradeWorld) -> Bool {
        guard let data = FileManager.default.contents(atPath: FingerprintChangedTablesStep.unchangedPath(world.runFolder)),
              let sizes = try? JSONDecoder().decode([String: [String: Int]].self, from: data) else { return false }
        return sizes.values.contains { !$0.isEmpty }
    }

    static func readyProbe(_ world: PgUpgradeWorld) -> [String] {
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", world.database.superuser]
    }

    /// Polls `pg_isready` over TCP inside the recreated container: TCP, because the image entrypoint's
    /// temporary init server listens on the socket only.
    func waitAcceptingConnections(_ compose: ComposeOperations) async throws {
        let probe = compose.execCommand(world.service, Self.readyProbe(world), timeout: .seconds(30))
        let deadline = world.readyDeadline
        while true {
            if let result = try? await world.runner.run(probe), result.termination.isSuccess { return }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("\(world.service) did not accept connections within \(world.context.options.readyTimeout) s after it was recreated without the window's override",
                                   hint: "see `docker compose logs \(world.service)`")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
