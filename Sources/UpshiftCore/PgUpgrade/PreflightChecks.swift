import Foundation
import UpshiftCompose
import UpshiftSupport

/// Preflight checks shared by `pg-upgrade` (which refuses on them) and `doctor` (which reports them), so
/// both judge the same way.
public enum PreflightChecks {
    /// The paths a placement will create (the aside name, the new cluster directory), relative to the
    /// mount root, that already exist there: pg-upgrade never overwrites them. The move-aside source
    /// itself is not counted (it is supposed to exist).
    public static func existingPlacementPaths(_ placement: DataPlacement, data: DataDirectoryOperations) async throws -> [String] {
        var existing: [String] = []
        for relative in [placement.oldRelativePath, placement.newRelativePath] where !relative.isEmpty {
            if case .moveAside(_, let name, _, _, _) = placement, relative == name { continue }
            if try await data.exists(placement.mount, relativePath: relative) { existing.append(relative) }
        }
        return existing
    }
}

extension PreflightChecks {
    /// Whether a bind mount at PGDATA is a mount point of its own on the engine's host (another filesystem
    /// than its parent): renaming it aside in the parent would then be a copy, so the placement keeps it.
    /// `false` for anything but a bind at PGDATA, and when the parent cannot be looked at.
    public static func bindRootIsMountPoint(_ location: DataLocation, data: DataDirectoryOperations) async throws -> Bool {
        guard location.kind == .bind, location.subpath.isEmpty, let (parent, name) = location.parentForMoveAside else { return false }
        let paths = [DataDirectoryOperations.containerPath(), DataDirectoryOperations.containerPath(name)]
        var command = data.helperCommand(parent, tool: "stat", ["-c", "%d"] + paths, readOnly: true)
        command.timeout = .seconds(60)
        let result = try await data.runner.run(command)
        guard result.termination.isSuccess else { return false }
        let devices = result.stdoutText.split(whereSeparator: \.isNewline)
        return devices.count == 2 && devices[0] != devices[1]
    }
}

extension PgUpgradePreflight {
    /// How the window will keep other clients out, from the running container (nil when it is not running:
    /// the isolate step then starts it on the private network). A server in the host's network namespace or
    /// another container's cannot be taken off its networks: refused, before anything changes.
    static func windowIsolation(context: PgUpgradeContext, compose: ComposeOperations) async throws -> WindowIsolation? {
        guard context.databaseWasRunning,
              let container = try await ContainerState.read(service: context.database.service, compose: compose, runner: compose.runner)?.id,
              let exposure = try await ContainerExposure.inspect(container: container, runner: compose.runner)
        else { return nil }
        guard exposure.networksCanBeSwapped else {
            throw UpshiftError(
                "\(context.database.service) runs with network_mode \(exposure.networkMode): upshift cannot keep other clients out of it during the window, and a write after the dump would be lost",
                hint: "remove network_mode from \(context.database.service) (publish the port instead) for the upgrade, then run pg-upgrade again")
        }
        let invoke = context.options.method == .invoke
        return WindowIsolation(exposure: exposure, reachesDirectly: context.onlineAddress != nil && !invoke, invoke: invoke, runID: context.runID.rawValue)
    }
}
