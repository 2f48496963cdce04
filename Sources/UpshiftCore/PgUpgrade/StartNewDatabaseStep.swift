import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Start the new major on its fresh data directory (the image's entrypoint initialises it) and
/// wait until it accepts a password login. Refuses to go on unless the server is the target major and the
/// cluster is empty: upshift never restores over data.
struct StartNewDatabaseStep: PlanStep {
    var world: PgUpgradeWorld
    /// The window's `prepared` branch: not empty, the cluster restored and verified before the window,
    /// proven by its system identifier.
    var onPrepared = false
    /// Start from the user's files, reachable by every client at once, instead of on the window's private
    /// network: only for a cluster whose contents were verified before it starts (the `prepared` and
    /// `subscribed` branches), so nothing is left to check that another client could disturb, and
    /// start-stack need not recreate the container — a restart of seconds, all of it downtime
    /// (`startsInFinalForm`).
    var finalForm = false

    /// Whether the branch `path` starts its new server in its final form: only where the cluster was
    /// verified before it starts (`prepared`, `subscribed`); upshift must reach it by its container address
    /// (the window's override publishes no port then), its image's entrypoint must not run a second,
    /// temporary server (bitnami), and no extension update may follow in the window. The window's start
    /// step and start-stack both ask here, so they agree.
    static func startsInFinalForm(_ world: PgUpgradeWorld, on path: WindowPath) -> Bool {
        (path == .prepared || path == .subscribed)
            && world.reachesContainersDirectly && world.database.family != .bitnami && !UpdateExtensionsStep.applies(world)
    }

    func planned() throws -> PlannedStep {
        let command = (finalForm ? world.compose : world.firstStartCompose).cli.command(["up", "-d", "--no-deps", world.service])
        let initialised = "the image's entrypoint initialises the empty directory (initdb as \(world.database.superuser), its pg_hba line, POSTGRES_DB, which the restore drops and recreates as it was)"
        return PlannedStep(
            id: "start-new-db", title: "Start PostgreSQL \(world.context.options.targetMajor) on \(onPrepared ? "the cluster restored before the window" : "an empty data directory") (\(world.context.placement.newPGDATA))",
            kind: "pg.start-new-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: try ComposeServicesCompensator.spec(
                handle: world.context.handle, services: [world.service], action: .stop, description: "stop the new \(world.service)"),
            notes: onPrepared ? ["proven to be that cluster by its system identifier"] + (finalForm ? [Self.finalFormNote] : []) : [initialised] + (world.context.initScriptMask.map { [$0.summary] } ?? []))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        if onPrepared {
            // Not empty: the cluster restored and verified before the window.
            let (major, staged) = try await startPrepared(context)
            return StepOutcome(summary: "PostgreSQL \(major) ready on the cluster restored before the window (system identifier \(staged.systemIdentifier))")
        }
        try await world.writeInitMask()
        let (major, server) = try await startTargetServer(context, waiting: "to initialise and accept logins", compose: world.firstStartCompose)
        let parameters = server.with(database: world.database.database)
        let tables = try await Blocking.run { () throws -> String? in
            try Connection(parameters).query(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
            ).single().string("count")
        }
        guard tables == "0" else {
            throw UpshiftError("the new cluster is not empty (\(tables ?? "?") tables in \(world.database.database)); refusing to restore over data")
        }
        return StepOutcome(summary: "PostgreSQL \(major) ready on an empty cluster")
    }

    /// Starts the cluster prepared before the window (in its final form when `finalForm`) and proves it is
    /// that one by its system identifier. Shared with the pg_upgrade method.
    func startPrepared(_ context: StepContext) async throws -> (major: Int, staged: StagedCluster) {
        let staged = try StagedCluster.required(world)
        let (major, server) = try await startTargetServer(context, waiting: "to accept logins", compose: finalForm ? world.compose : nil)
        try await staged.proveRunning(server)
        try PrivateJSON.write(["address": server.host], to: Self.provenAddressPath(world))
        return (major, staged)
    }

    /// Where the prepared cluster's server answered with the expected system identifier: `verify` reads it
    /// there instead of asking docker again inside the downtime (and proves the identifier again).
    static func provenAddressPath(_ world: PgUpgradeWorld) -> String { world.runFolder.path + "/new-server.json" }

    /// The new server at the address `startPrepared` proved, or looked up as usual.
    static func provenServerConnection(_ world: PgUpgradeWorld) async throws -> ConnectionParameters {
        if world.reachesContainersDirectly, let data = FileManager.default.contents(atPath: provenAddressPath(world)),
           let host = try? JSONDecoder().decode([String: String].self, from: data)["address"] {
            return world.database.superuserConnection(host: host, port: 5432, database: "postgres")
        }
        return try await world.serverConnection()
    }

    /// The note of a start in final form, for plans.
    static let finalFormNote = "from your files, not the window's private network: its contents were verified before it starts"

    /// Starts the service on the target image (in its final form, or isolated; see
    /// `PgUpgradeWorld.reachesContainersDirectly`) and waits for a password login; refuses a server of
    /// another major. Shared with the pg_upgrade method, whose cluster is already initialised. Returns the
    /// major and where the server answered.
    func startTargetServer(_ context: StepContext, waiting: String, compose: ComposeOperations? = nil) async throws -> (major: Int, server: ConnectionParameters) {
        try await (compose ?? world.newServerCompose).up([world.service])
        context.progress("waiting for PostgreSQL \(world.context.options.targetMajor) \(waiting)")
        try await waitWhileRunning()
        let parameters = try await world.serverConnection()
        try await world.waitForServer(parameters)
        if world.database.family == .bitnami { try await waitForFinalServer(compose ?? world.newServerCompose) }
        let major = try await world.serverMajor(parameters)
        guard major == world.context.options.targetMajor else {
            throw UpshiftError("the new server reports major \(major), not \(world.context.options.targetMajor)")
        }
        return (major, parameters)
    }

    /// Bitnami's entrypoint initialises a new cluster with a temporary server that already answers on TCP
    /// before the application user and database exist; a restore started then races the rest of the init. The
    /// final server is the one `run.sh` execs as the container's process 1.
    func waitForFinalServer(_ compose: ComposeOperations) async throws {
        let deadline = world.readyDeadline
        while true {
            let probe = try await world.runner.run(compose.execCommand(world.service, ["cat", "/proc/1/comm"], environment: [:], timeout: .seconds(30)))
            if probe.termination.isSuccess, probe.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres" {
                try await world.waitForServer(try await world.serverConnection())
                return
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the new \(world.service) container (\(world.context.targetImage)) did not finish its initialisation in time: process 1 is not the PostgreSQL server")
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// Waits for the server to answer, but gives up as soon as its container has stopped: a new image whose
    /// entrypoint fails (restart policy off during the window) will never become ready, and waiting out the
    /// whole ready timeout would only lengthen the downtime before the rollback.
    ///
    /// In its final form the container has the user's restart policy: a restart counts as stopping.
    func waitWhileRunning() async throws {
        let deadline = world.readyDeadline
        while true {
            do {
                let parameters = try await world.serverConnection()
                try await Connection.waitUntilReady(parameters, deadline: min(deadline, .now + .seconds(2)))
                return
            } catch where ContinuousClock.now < deadline {
                var crashed = false
                if world.reachesContainersDirectly {
                    let state = try await ContainerState.read(service: world.service, compose: world.compose, runner: world.runner)
                    crashed = state.map { $0.status != "running" || $0.restartCount > 0 } ?? true
                    try await Task.sleep(for: .milliseconds(200))  // the address lookup fails at once; do not spin
                }
                guard !crashed, try await world.newServerCompose.runningServices().contains(world.service) else {
                    let logs = try? await world.newServerCompose.run(["logs", "--no-color", "--tail", "15", world.service], timeout: .seconds(60))
                    let tail = logs.map { world.redactor.redact(($0.stdoutText + $0.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? ""
                    throw UpshiftError("the new \(world.service) container (\(world.context.targetImage)) stopped before PostgreSQL \(world.context.options.targetMajor) accepted connections" + (tail.isEmpty ? "" : "; its last log lines:\n" + tail))
                }
            }
        }
    }
}
