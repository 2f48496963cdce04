import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Builds the `StagedCluster` before the window: a one-off server of the target image on the staged
/// directory, the online dump restored into it, analyzed, fingerprinted, compared with the online
/// fingerprint, and shut down cleanly. Nothing of the running deployment changes: the old server keeps
/// serving, the one-off server has no published port and no network alias.
struct StagedServer: Sendable {
    var world: PgUpgradeWorld

    var name: String { StagedCluster.containerName(world.context.runID.rawValue) }
    var relativePath: String { StagedCluster.relativePath(world) }

    /// PGDATA of the staged cluster as the service's container sees it.
    var pgdata: String { Self.servicePath(world, relativePath) }

    /// A path relative to the data mount, as the service's container sees it.
    static func servicePath(_ world: PgUpgradeWorld, _ relative: String) -> String {
        let target = world.database.dataLocation.mountTarget ?? ""
        return (target.hasSuffix("/") ? String(target.dropLast()) : target) + "/" + relative
    }

    /// The override that gives the one-off server the target image (compose run has no `--image`).
    var overridePath: String { world.runFolder.path + "/staged.override.json" }

    /// `docker compose run -d` of the service on the target image, PGDATA on the staged directory, labelled
    /// with the run so every undo removes it.
    var runCommand: Command {
        let compose = world.context.handle.cli(runner: world.runner, tool: world.context.project.tool, extraFiles: [overridePath])
        return compose.command([
            "run", "-d", "--no-deps", "--name", name, "--label", "com.upshift.helper=true",
            "--label", "\(RunHelperContainers.label)=\(world.context.runID.rawValue)", "-e", "PGDATA=\(pgdata)", world.service,
        ])
    }

    /// The dump method's staging: restore the online dump, analyze, verify, shut down.
    /// - Parameters:
    ///   - manifest: the online dump (globals first).
    ///   - expected: the online fingerprint the staged cluster must equal.
    func build(manifest: DumpManifest, in dir: String, expected: Fingerprint, context: StepContext) async throws -> StagedCluster {
        let target = try await start(context)
        let restored = try await RestoreDumpStep(world: world, target: target).restoreVerified(manifest, in: dir, context: context)
        context.progress("analyzing the staged cluster")
        _ = try await AnalyzeStep(world: world, target: target).analyze()
        let (fingerprint, identifier) = try await read(target, context: context)
        let differences = expected.diff(against: fingerprint)
        guard differences.isEmpty else {
            throw UpshiftError("the cluster restored before the window differs from the online snapshot:\n  " + differences.prefix(20).joined(separator: "\n  "))
        }
        try FingerprintFile.save(fingerprint, to: Self.fingerprintPath(world))
        try await stop()
        return StagedCluster(
            relativePath: relativePath, systemIdentifier: identifier,
            summary: "\(restored) databases restored and analyzed, identical to the snapshot: \(FingerprintFile.describe(fingerprint))")
    }

    /// Where the staged cluster's fingerprint is kept; `verify` copies it as the "after" fingerprint.
    static func fingerprintPath(_ world: PgUpgradeWorld) -> String { world.runFolder.path + "/fingerprint-staged.json" }

    /// Starts the one-off server of the target image on the staged directory (initialising it when empty,
    /// as the service's entrypoint would) and waits for a login.
    func start(_ context: StepContext) async throws -> ServerTarget {
        var settings = try await world.writeInitMask()
        settings["image"] = world.context.targetImage.description
        try IsolationOverride.write(path: overridePath, service: world.service, settings: settings)
        context.progress("starting a one-off PostgreSQL \(world.context.options.targetMajor) on \(relativePath) (docker compose run)")
        try (try await world.runner.run(runCommand)).check(redactor: world.redactor)
        return ServerTarget.staged(container: name, address: try await waitReady())
    }

    /// The staged cluster's fingerprint and system identifier.
    func read(_ target: ServerTarget, context: StepContext) async throws -> (fingerprint: Fingerprint, identifier: String) {
        let parameters = try await target.connection(world)
        let fingerprint = try await Fingerprinter.captureAsync(parameters) { db, table, position, count in context.report("checksum (staged) \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items)) }
        return (fingerprint, try await StagedCluster.systemIdentifier(parameters))
    }

    /// Waits until the one-off server accepts the superuser's login at its address; gives up when its
    /// container stopped (a failed init).
    func waitReady() async throws -> String {
        let deadline = world.readyDeadline
        while true {
            let state = try await OneOffServerState.requireRunning(
                name, what: "the one-off PostgreSQL \(world.context.options.targetMajor) server for the staged cluster", runner: world.runner, redactor: world.redactor)
            if let address = state.addresses.first {
                let parameters = world.database.superuserConnection(host: address, port: 5432)
                do {
                    try await Connection.waitUntilReady(parameters, deadline: min(deadline, .now + .seconds(2)))
                    try await world.waitForServer(parameters)
                    let major = try await world.serverMajor(parameters)
                    guard major == world.context.options.targetMajor else {
                        throw UpshiftError("the staged server reports major \(major), not \(world.context.options.targetMajor)")
                    }
                    return address
                } catch let error as UpshiftError {
                    throw error
                } catch where ContinuousClock.now < deadline {}
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the one-off server for the staged cluster did not accept logins within \(world.context.options.readyTimeout) s")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Clean shutdown (the server checkpoints), confirmed by `pg_controldata`, then the container removed.
    func stop() async throws {
        let timeout = world.context.options.stopTimeout
        try (try await world.runner.run(Command("docker", ["stop", "-t", String(timeout), name], timeout: .seconds(Int64(timeout) + 120)))).check()
        let data = DataDirectoryOperations(runner: world.runner, image: world.context.targetImage.description)
        let state = try await StopDatabaseStep.clusterState(
            data, world.context.placement.mount, pgdata: DataDirectoryOperations.containerPath(relativePath), redactor: world.redactor)
        guard state == "shut down" else {
            throw UpshiftError("the staged cluster did not shut down cleanly (pg_controldata: \(state))")
        }
        try (try await world.runner.run(Command("docker", ["rm", "-v", name], timeout: .seconds(60)))).check()
    }
}
