import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The dump method's new cluster kept current while the application writes: a server of the target image
/// on the staged directory subscribes to the serving cluster (logical replication, one subscription per
/// database) until the window.
///
/// Why it shares the db container's network namespace: the subscription reaches the serving server at
/// 127.0.0.1:5432, which the window's network swap leaves in place, so the replica can catch up after the
/// application stopped and other clients were shut out. It listens on port 5433 of that namespace, where
/// upshift reaches it at the db container's address (before and during the window). The password reaches
/// the subscription's libpq as `PGPASSWORD`, given to `docker run` by name: in no file, on no argv, and not in
/// the subscription's connection string.
struct SubscriberServer: Sendable {
    var world: PgUpgradeWorld

    static let port = 5433
    /// Table copies at once per subscription (the server's default).
    static let syncWorkers = 2

    /// `upshift-subscriber-<run>`, labelled with the run so that every undo removes it.
    var name: String { "upshift-subscriber-\(world.context.runID.rawValue)" }
    var relativePath: String { StagedCluster.relativePath(world) }
    var dataPath: String { DataDirectoryOperations.containerPath(relativePath) }

    /// Where the run notes what follows the serving cluster (`CheckSnapshotStep` reads it).
    static func path(_ folder: RunFolder) -> String { folder.path + "/subscriber.json" }
    static func exists(_ folder: RunFolder) -> Bool { FileManager.default.fileExists(atPath: path(folder)) }
    /// The replica's fingerprint, taken before the window from one snapshot per database.
    static func fingerprintPath(_ folder: RunFolder) -> String { folder.path + "/fingerprint-subscriber.json" }

    /// Names of the run's publications and slots: lower-case letters, digits and `_` only (what a slot name
    /// allows), so they are valid unquoted everywhere.
    static func objectName(_ runID: RunID) -> String {
        "upshift_" + runID.rawValue.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
    static func insertOnlyName(_ runID: RunID) -> String { objectName(runID) + "_ins" }
    static func slotName(_ runID: RunID, index: Int) -> String { objectName(runID) + "_\(index)" }

    /// `docker run -d` of the target image's server on the staged directory, in the db container's network
    /// namespace, as the data owner.
    func runCommand(container: String, owner: String) -> Command {
        let mount = world.context.placement.mount
        var args = ["run", "-d", "--name", name, "--network", "container:" + container, "--stop-signal", "SIGINT", "--user", owner]
        args += DataDirectoryOperations.mountArguments(mount, readOnly: false)
        args += ["--label", "com.upshift.helper=true"] + RunHelperContainers.arguments(runID: world.context.runID.rawValue)
        for key in world.database.passwordEnvironment.keys.sorted() { args += ["-e", key] }
        args += ["--entrypoint", "postgres", world.context.targetImage.description, "-D", dataPath]
        for setting in [
            "listen_addresses=*", "port=\(Self.port)", "unix_socket_directories=/tmp", "archive_mode=off",
            "max_sync_workers_per_subscription=\(Self.syncWorkers)",
        ] {
            args += ["-c", setting]
        }
        return Command("docker", args, environment: world.database.passwordEnvironment, timeout: .seconds(120))
    }

    /// Starts it on the staged cluster (initialised and given the schema by a `StagedServer` that has shut
    /// down) and waits for a login.
    func start(container: String, context: StepContext) async throws {
        let data = DataDirectoryOperations(runner: world.runner, image: world.context.targetImage.description)
        guard let ownership = try await data.ownership(world.context.placement.mount, relativePath: relativePath) else {
            throw UpshiftError("the staged cluster \(relativePath) is missing")
        }
        context.progress("starting PostgreSQL \(world.context.options.targetMajor) on \(relativePath) to follow the serving cluster")
        _ = try? await world.runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
        try (try await world.runner.run(runCommand(container: container, owner: "\(ownership.uid):\(ownership.gid)"))).check(redactor: world.redactor)
        let deadline = world.readyDeadline
        while true {
            try await requireRunning()
            if let parameters = try? await connection() {
                do {
                    try await Connection.waitUntilReady(parameters, deadline: min(deadline, .now + .seconds(2)))
                    try await world.waitForServer(parameters)
                    return
                } catch where ContinuousClock.now < deadline {}
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the PostgreSQL \(world.context.options.targetMajor) server following the serving cluster did not accept logins within \(world.context.options.readyTimeout) s")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// libpq to it as the superuser: the db container's current address (it moves with the window's
    /// network swap), port 5433.
    /// The replica beside the old server `old` (as `world.serverConnection()` or
    /// `isolatedServerConnection()` gave it): the same container address, the replica's port; looked up only
    /// when upshift does not reach containers by address.
    func connection(beside old: ConnectionParameters) async throws -> ConnectionParameters {
        guard world.reachesContainersDirectly else { return try await connection() }
        return world.database.superuserConnection(host: old.host, port: Self.port, database: "postgres")
    }

    func connection(database: String = "postgres") async throws -> ConnectionParameters {
        let state = try await ContainerState.read(service: world.service, compose: world.compose, runner: world.runner)
        guard let address = state?.addresses.first else {
            throw UpshiftError("the \(world.service) container has no network address; the server following it cannot be reached")
        }
        return world.database.superuserConnection(host: address, port: Self.port, database: database)
    }

    /// Errors of its table copies and of applying changes, over every subscription (`pg_stat_subscription_stats`):
    /// the server retries both for ever, so any error means the replica cannot be relied on.
    static func errorCount(_ replica: ConnectionParameters) async throws -> Int {
        try await Blocking.run { () throws -> Int in
            try Connection(replica).query("SELECT coalesce(sum(sync_error_count + apply_error_count), 0)::int AS n FROM pg_stat_subscription_stats").single().int("n")
        }
    }

    /// Fails with its last log lines when its container is no longer running.
    func requireRunning() async throws {
        try await OneOffServerState.requireRunning(name, what: "the PostgreSQL \(world.context.options.targetMajor) server following the serving cluster", runner: world.runner, redactor: world.redactor)
    }

    /// Clean shutdown (SIGINT: fast), confirmed by `pg_controldata`, then the container removed.
    func stop() async throws {
        let timeout = world.context.options.stopTimeout
        try (try await world.runner.run(Command("docker", ["stop", "-t", String(timeout), name], timeout: .seconds(Int64(timeout) + 120)))).check()
        let data = DataDirectoryOperations(runner: world.runner, image: world.context.targetImage.description)
        let state = try await StopDatabaseStep.clusterState(data, world.context.placement.mount, pgdata: dataPath, redactor: world.redactor)
        guard state == "shut down" else {
            throw UpshiftError("the replica did not shut down cleanly (pg_controldata: \(state))")
        }
        try (try await world.runner.run(Command("docker", ["rm", "-v", name], timeout: .seconds(60)))).check()
    }
}

/// What `StageSubscriberStep` left for the window (`subscriber.json`).
struct SubscriberRecord: Sendable, Hashable, Codable {
    var container: String
    var sources: LogicalSources
    /// Database -> slot on the serving cluster (only databases with published tables).
    var slots: [String: String]
    /// Database -> SHA-256 of its `pg_dump --schema-only`, taken just before the replica's schema was dumped.
    var schemaDigests: [String: String]
    /// Database -> `CatalogVersions` digest, taken before `schemaDigests`: unchanged in the window, no DDL ran
    /// since. Absent in a record written before it existed (every database is then compared by pg_dump).
    var catalogDigests: [String: String]?
    /// `LogicalSources.insertOnlyCounters` when the subscriptions were created.
    var insertOnlyCounters: [String: [String: String]]
    /// The replica's table activity just before its fingerprint: which tables the window scans again.
    var activity: ClusterActivity

    static func load(_ folder: RunFolder) throws -> SubscriberRecord? {
        guard let data = FileManager.default.contents(atPath: SubscriberServer.path(folder)) else { return nil }
        return try JSONDecoder().decode(SubscriberRecord.self, from: data)
    }

    func write(_ folder: RunFolder) throws {
        try PrivateJSON.write(self, to: SubscriberServer.path(folder))
    }
}
