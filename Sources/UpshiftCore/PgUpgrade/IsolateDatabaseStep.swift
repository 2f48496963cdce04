import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The old server, reachable by upshift and by nobody else (`WindowIsolation`).
///
/// When upshift reaches containers at their addresses and the container publishes no port, the running
/// container only changes networks (no restart, warm cache). Otherwise it is recreated with the window's
/// override: on a private network, its ports closed (published on 127.0.0.1 for upshift when it cannot reach
/// container addresses), restart policy off so nothing restarts it behind upshift's back. Either way the
/// sessions left from before are ended and the isolation is proved from outside before the fingerprint.
/// Undone by recreating the container from the user's files (after verifying the old fingerprint, when one
/// was taken), which puts it back on its networks and ports.
struct IsolateDatabaseStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() throws -> PlannedStep {
        let isolation = world.context.isolation
        let note = isolation?.planNote ?? "other clients kept out: the container moves to a private network"
        if isolation?.approach == .swapNetworks {
            return PlannedStep(
                id: "isolate-db", title: "Keep every other client out of \(world.service): private network, no restart",
                kind: "pg.isolate-db", commands: [], mutates: true,
                compensation: try RestoreDatabaseServiceCompensator.spec(world: world),
                notes: [note, "proved before the fingerprint: no other session, no former network or port left on the container, the old ports silent"])
        }
        let command = world.isolatedCompose.cli.command(["up", "-d", "--no-deps", world.service])
        let reach = world.upshiftPort.map { ", published on 127.0.0.1:\($0) for upshift" } ?? ""
        return PlannedStep(
            id: "isolate-db", title: "Recreate \(world.service) for upshift only (private network\(reach), restart policy off)",
            kind: "pg.isolate-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try RestoreDatabaseServiceCompensator.spec(world: world), notes: [note])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let runner = world.runner
        let runID = world.context.runID.rawValue
        // A stopped database has no sessions and is started on the private network: nothing to swap.
        let state = try await ContainerState.read(service: world.service, compose: world.compose, runner: runner)
        let running = state?.status == "running"
        var exposure = ContainerExposure(networks: [:], bindings: [], networkMode: "")
        if let state, let inspected = try await ContainerExposure.inspect(container: state.id, runner: runner) { exposure = inspected }
        // Decided again from the container as it is now (preflight's decision was for the plan).
        var isolation = WindowIsolation(
            exposure: exposure, reachesDirectly: world.reachesContainersDirectly, invoke: world.context.options.method == .invoke, runID: runID)
        if isolation.approach == .swapNetworks && !running { isolation.approach = .recreate }
        // Written in every case: the window's compose commands (stop, the new server) name it.
        try await WindowIsolation.writeOverride(
            path: world.overridePath, service: world.service, hostPort: world.upshiftPort,
            network: isolation.network, runID: runID, runner: runner)

        let parameters: ConnectionParameters
        if isolation.approach == .swapNetworks {
            context.progress("moving \(world.service) to \(isolation.network ?? "?") (leaving \(exposure.networks.keys.sorted().joined(separator: ", ")))")
            try await isolation.swapNetworks(container: state?.id ?? world.service, runner: runner)
            parameters = try await world.serverConnection()
            try await world.waitForServer(parameters)
        } else {
            try await world.isolatedCompose.up([world.service])
            context.progress("waiting for PostgreSQL \(world.context.oldMajor) (\(isolation.approach == .recreate ? "private network" : "ports closed"))")
            parameters = try await world.serverConnection()
            try await world.waitForServer(parameters)
        }
        let ended = try await WindowIsolation.endOtherSessions(parameters, deadline: .now + .seconds(30))
        let current = try await ContainerState.read(service: world.service, compose: world.compose, runner: runner)?.id ?? world.service
        let unreachable = try await isolation.detachmentProblems(
            container: current, allowedPort: world.upshiftPort, runner: runner)
        // Knocking at this host's addresses says nothing about a remote engine's ports.
        let ports = world.context.options.remoteEngine == nil ? await isolation.probePorts() : []
        let leaks = unreachable + ports
        guard leaks.isEmpty else {
            throw UpshiftError("other clients can still reach the old server: " + leaks.joined(separator: "; "),
                               hint: "nothing was changed yet: upshift puts the container back; report this with `docker inspect` of the container")
        }
        if world.reachesContainersDirectly { isolation.address = parameters.host }
        try PrivateJSON.write(isolation, to: WindowIsolation.path(world.runFolder.path))
        var proof = ["no other session\(ended > 0 ? " (\(ended) ended)" : "")"]
        if isolation.approach != .portsOnly, !exposure.networks.isEmpty { proof.append("detached from \(exposure.networks.keys.sorted().joined(separator: ", "))") }
        if !exposure.bindings.isEmpty { proof.append("port\(exposure.bindings.count == 1 ? "" : "s") \(exposure.knockAddresses.map { "\($0.port)" }.joined(separator: ", ")) closed") }
        return StepOutcome(summary: "reachable by upshift at \(parameters.host):\(parameters.port) only: " + proof.joined(separator: ", "))
    }
}

extension WindowIsolation {
    /// Where the run folder keeps what the isolation found and did (read by stop-db and the undo).
    static func path(_ runFolder: String) -> String { runFolder + "/window-isolation.json" }
}
