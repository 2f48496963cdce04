import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Stop the old server with a long timeout and confirm from `pg_control` that it shut down cleanly.
/// A server killed mid-checkpoint is not lost, but its data directory must not be moved as if it were
/// consistent: the run stops here instead.
///
/// In the `subscribed` branch the verified replica is shut down at the same time, just as cleanly: the two
/// servers share nothing once replication ended, and the window waits for one shutdown instead of two.
struct StopDatabaseStep: PlanStep {
    var world: PgUpgradeWorld
    /// Also shut down the logical replica (`SubscriberServer`), which is renamed into place next.
    var withReplica = false

    func planned() -> PlannedStep {
        let stop = world.isolatedCompose.cli.command(["stop", "-t", String(world.context.options.stopTimeout), world.service])
        let control = world.oldData.helperCommand(world.database.dataLocation, tool: "pg_controldata", [Self.containerPGDATA(world)], readOnly: true)
        var commands = [stop, control]
        if withReplica {
            commands.append(Command("docker", ["stop", "-t", String(world.context.options.stopTimeout), SubscriberServer(world: world).name]))
        }
        let what = withReplica ? "PostgreSQL \(world.context.oldMajor) and the replica together" : "PostgreSQL \(world.context.oldMajor)"
        return PlannedStep(
            id: "stop-db", title: "Stop \(what) (up to \(world.context.options.stopTimeout) s) and confirm a clean shutdown",
            kind: "pg.stop-db", commands: PlannedStep.render(commands, redactor: world.redactor), mutates: true, compensation: nil,
            notes: ["the old server is started again by the isolate-db compensation when the run is undone"]
                + (withReplica ? ["the replica: docker stop (SIGINT), then pg_controldata must say \"shut down\"; the undo deletes it with its directory"] : []))
    }

    /// "Database cluster state" of the stopped cluster at `pgdata` (a path in the helper container), read by
    /// `pg_controldata` of `data`'s image, which must be the cluster's major.
    static func clusterState(_ data: DataDirectoryOperations, _ location: DataLocation, pgdata: String, redactor: Redactor) async throws -> String {
        let result = try await data.runner.run(data.helperCommand(location, tool: "pg_controldata", [pgdata], readOnly: true))
        try result.check(redactor: redactor)
        return clusterState(pgControldata: result.stdoutText)
    }

    /// "Database cluster state" from `pg_controldata` output ("shut down" after a clean shutdown).
    static func clusterState(pgControldata output: String) -> String {
        controlField("Database cluster state", pgControldata: output) ?? "unknown"
    }

    /// One field of `pg_controldata` output (`Latest checkpoint location`, …).
    static func controlField(_ label: String, pgControldata output: String) -> String? {
        output.split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix(label + ":") }
            .map { $0.dropFirst(label.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    static func containerPGDATA(_ world: PgUpgradeWorld) -> String {
        let subpath = world.database.dataLocation.subpath
        return DataDirectoryOperations.mountPoint + (subpath.isEmpty ? "" : "/" + subpath)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        // The proof that nothing wrote after the dump: no session but upshift's reached the old server.
        if let parameters = try? await world.isolatedServerConnection() {
            let others = try await WindowIsolation.otherSessions(parameters)
            guard others.isEmpty else {
                throw UpshiftError("another client is connected to the old server during the window (\(others.joined(separator: "; "))): a write after the dump would be lost",
                                   hint: "find and stop that client (another container on the network, a published port, a cron job), then run pg-upgrade again")
            }
        }
        async let replicaDown: Void = stopReplica()
        try await world.isolatedCompose.stop([world.service], timeout: world.context.options.stopTimeout)
        let state = try await Self.clusterState(world.oldData, world.database.dataLocation, pgdata: Self.containerPGDATA(world), redactor: world.redactor)
        guard state == "shut down" else {
            throw UpshiftError("PostgreSQL \(world.context.oldMajor) did not shut down cleanly (pg_controldata: \(state))", hint: "raise --stop-timeout; the old cluster is untouched and will be started again")
        }
        try await replicaDown
        return StepOutcome(summary: "clean shutdown (pg_controldata: \(state))" + (withReplica ? "; the replica too" : ""))
    }

    private func stopReplica() async throws {
        guard withReplica else { return }
        try await SubscriberServer(world: world).stop()
    }
}
