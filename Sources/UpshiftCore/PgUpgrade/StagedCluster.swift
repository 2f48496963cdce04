import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The dump method's new cluster, restored and verified before the window.
///
/// While the application still serves, `PrepareOnlineStep` (after the online dump and fingerprint) starts a
/// one-off server of the target image with `docker compose run` — the service's own environment, mounts,
/// user and networks, so the entrypoint initialises the cluster exactly as the service would — on a fresh
/// directory beside the new cluster's place in the same mount (`<new>.staged-<run>`). The online dump is
/// restored into it, analyzed, fingerprinted and compared with the online fingerprint; then the server is
/// shut down cleanly and removed. Inside the window, when nothing committed since the snapshot, restore,
/// analyze and the full fingerprint leave the downtime: move-data-aside renames the staged directory into
/// place (O(1), same filesystem), start-new-db starts it, and verify proves it is the verified cluster (its
/// system identifier) and that the application can log in. Otherwise the staged directory is deleted and the
/// window restores as before. `CheckSnapshotStep` decides which.
///
/// Only where the new cluster lives inside the service's own mount (PGDATA a sub-directory of it, like
/// InvenTree's `pgdb`): that is the directory compose can hand the one-off server.
struct StagedCluster: Sendable, Hashable, Codable {
    /// Relative to the mount root.
    var relativePath: String
    /// `pg_control_system().system_identifier`: what proves, inside the window, that the started cluster is
    /// the one verified.
    var systemIdentifier: String
    /// The verification done before the window, for the record.
    var summary: String

    static func path(_ folder: RunFolder) -> String { path(folderPath: folder.path) }
    static func path(folderPath: String) -> String { folderPath + "/staged.json" }

    static func load(_ folder: RunFolder) throws -> StagedCluster? { try load(folderPath: folder.path) }

    static func load(folderPath: String) throws -> StagedCluster? {
        guard let data = FileManager.default.contents(atPath: path(folderPath: folderPath)) else { return nil }
        return try JSONDecoder().decode(StagedCluster.self, from: data)
    }

    func write(_ folder: RunFolder) throws {
        try PrivateJSON.write(self, to: Self.path(folder))
    }

    /// Whether this run stages: the dump or pg_upgrade method prepared online, and the new cluster's place
    /// is inside the service's mount. (The pg_upgrade method may still decide against it before the window:
    /// `StagedUpgrade.obstacle`.)
    static func applies(_ world: PgUpgradeWorld) -> Bool {
        guard PrepareOnlineStep.applies(world), world.context.options.method == .dump || world.context.options.method == .pgUpgrade,
              case .moveAside(let mount, _, _, _, _) = world.context.placement,
              mount == world.database.dataLocation, !world.database.dataLocation.subpath.isEmpty,
              !world.context.placement.newRelativePath.isEmpty
        else { return false }
        return true
    }

    static func relativePath(_ world: PgUpgradeWorld) -> String {
        world.context.placement.newRelativePath + ".staged-" + world.context.runID.rawValue
    }

    static func containerName(_ runID: String) -> String { "upshift-staged-\(runID)" }

    /// The prepared cluster, for the steps of the window's `prepared` branch, which only runs when there is one.
    static func required(_ world: PgUpgradeWorld) throws -> StagedCluster {
        guard let staged = try load(world.runFolder) else {
            throw UpshiftError("internal: the prepared branch runs, but \(path(world.runFolder)) is missing")
        }
        return staged
    }

    /// Fails unless the server at `server` runs this cluster (after the window's rename into place).
    /// - Parameter failure: what the error says first.
    func proveRunning(_ server: ConnectionParameters, failure: String = "the started cluster is not the one prepared before the window") async throws {
        let identifier = try await Self.systemIdentifier(server)
        guard identifier == systemIdentifier else {
            throw UpshiftError("\(failure) (system identifier \(identifier), expected \(systemIdentifier))")
        }
    }

    /// `pg_control_system().system_identifier`, as text.
    static func systemIdentifier(_ parameters: ConnectionParameters) async throws -> String {
        try await Blocking.run { () throws -> String in
            try Connection(parameters).query("SELECT system_identifier::text AS id FROM pg_control_system()").single().requiredString("id")
        }
    }

    /// The directories staging may leave in the mount: the staged cluster, and for the pg_upgrade method
    /// the private copy of the old cluster (`StagedUpgrade`).
    static func ownDirectories(_ world: PgUpgradeWorld) -> [String] {
        world.context.options.method == .pgUpgrade ? [relativePath(world), StagedUpgrade.copyRelativePath(world)] : [relativePath(world)]
    }

    /// `discard` for this run's staged directories.
    static func discard(_ world: PgUpgradeWorld, progress: @Sendable (String) -> Void) async throws {
        try await discard(
            relativePaths: ownDirectories(world), mount: world.context.placement.mount, image: world.database.imageText,
            runID: world.context.runID.rawValue, runner: world.runner, progress: progress)
    }

    /// Deletes the staged directories (and the run's one-off containers first). Only ever a path this run
    /// named `…staged-<run>` or `…copy-<run>`: nothing of the user's is deleted.
    ///
    /// `present`: the caller knows the directories exist (a step inside the window), so the helper container
    /// that would look first — a third of a second of downtime — is not run; `rm -rf` needs no such check.
    static func discard(relativePaths: [String], mount: DataLocation, image: String, runID: String, runner: any CommandRunning, present: Bool = false, progress: @Sendable (String) -> Void) async throws {
        for path in relativePaths where !(path.hasSuffix(".staged-" + runID) || path.hasSuffix(".copy-" + runID)) || path.contains("..") {
            throw UpshiftError("internal: refusing to delete \(path), which is not a directory this run staged")
        }
        try await RunHelperContainers.removeLeftovers(runID: runID, runner: runner, progress: progress)
        let data = DataDirectoryOperations(runner: runner, image: image)
        for path in relativePaths {
            if !present { guard try await data.exists(mount, relativePath: path) else { continue } }
            progress("deleting \(path), staged by this run")
            var command = data.helperCommand(mount, tool: "rm", ["-rf", "--", DataDirectoryOperations.containerPath(path)], readOnly: false)
            command.timeout = .seconds(3600)
            try (try await runner.run(command)).check()
        }
    }
}

/// Payload of `StagedClusterCompensator`.
struct StagedClusterPayload: Sendable, Hashable, Codable {
    var mount: DataLocation
    var image: String
    var relativePath: String
    /// The pg_upgrade method's private copy of the old cluster.
    var copyRelativePath: String?
}

/// Undoes the staging: stops the one-off server if it still runs (after a kill), deletes the staged
/// directory if it was not moved into place (then the move-aside undo keeps it as `.failed-<run>`).
struct StagedClusterCompensator: Compensating {
    static let kind: StepKind = "pg.staged-cluster"
    var runner: any CommandRunning

    static func spec(world: PgUpgradeWorld) throws -> CompensationSpec {
        let own = StagedCluster.ownDirectories(world)
        let payload = StagedClusterPayload(mount: world.context.placement.mount, image: world.database.imageText, relativePath: own[0], copyRelativePath: own.count > 1 ? own[1] : nil)
        return try CompensationSpec(kind: kind, description: "stop the staged server and delete \(own.joined(separator: " and ")) if still there", typedPayload: payload)
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(StagedClusterPayload.self)
        try await StagedCluster.discard(
            relativePaths: [payload.relativePath] + (payload.copyRelativePath.map { [$0] } ?? []), mount: payload.mount, image: payload.image, runID: context.runID.rawValue,
            runner: runner, progress: context.progress)
    }
}
