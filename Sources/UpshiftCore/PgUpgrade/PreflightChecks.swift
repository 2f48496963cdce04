import Foundation

/// Preflight checks shared by `pg-upgrade` (which refuses on them) and `doctor` (which reports them), so
/// both judge the same way.
public enum PreflightChecks {
    /// The paths a placement will create (the aside name, the new cluster directory), relative to the
    /// mount root, that already exist there: pg-upgrade never overwrites them. The move-aside source
    /// itself is not counted (it is supposed to exist).
    public static func existingPlacementPaths(_ placement: DataPlacement, data: DataDirectoryOperations) async throws -> [String] {
        var existing: [String] = []
        for relative in [placement.oldRelativePath, placement.newRelativePath] where !relative.isEmpty {
            if case .moveAside(_, let name, _, _) = placement, relative == name { continue }
            if try await data.exists(placement.mount, relativePath: relative) { existing.append(relative) }
        }
        return existing
    }
}
