import Foundation

/// Where the old cluster goes and where the new one is created. Decided once, before anything changes,
/// and shown in the plan.
public enum DataPlacement: Sendable, Hashable, Codable {
    /// PGDATA is an entry inside its mount (InvenTree's `pgdb` in the data volume, or a bind directory seen
    /// through its parent): the old directory is renamed to `asideName` in the same mount — O(1), same
    /// filesystem, never a copy — and the new server initialises a fresh `newPGDATA`.
    case moveAside(mount: DataLocation, name: String, asideName: String, newPGDATA: String)
    /// PGDATA is the root of a named volume, which cannot be renamed from inside. The old cluster stays
    /// untouched where it is; the service is pinned (`PGDATA` in its environment) to a fresh sub-directory
    /// `newName` of the same volume. Rollback removes the pin.
    case pinSubdirectory(mount: DataLocation, newName: String, newPGDATA: String)

    public var newPGDATA: String {
        switch self {
        case .moveAside(_, _, _, let pgdata), .pinSubdirectory(_, _, let pgdata): return pgdata
        }
    }

    /// The mount the data operations work in.
    public var mount: DataLocation {
        switch self {
        case .moveAside(let mount, _, _, _), .pinSubdirectory(let mount, _, _): return mount
        }
    }

    /// Where the new cluster lives, relative to the mount root.
    public var newRelativePath: String {
        switch self {
        case .moveAside(let mount, _, _, let pgdata): return Self.relative(pgdata, to: mount.mountTarget ?? "")
        case .pinSubdirectory(_, let name, _): return name
        }
    }

    /// Where the old cluster is after the move, relative to the mount root.
    public var oldRelativePath: String {
        switch self {
        case .moveAside(_, _, let aside, _): return aside
        case .pinSubdirectory: return ""
        }
    }

    /// Whether the compose files must gain a `PGDATA` entry.
    public var pinsPGDATA: Bool {
        if case .pinSubdirectory = self { return true }
        return false
    }

    public var summary: String {
        switch self {
        case .moveAside(let mount, let name, let aside, let pgdata):
            return "old cluster \(name) renamed to \(aside) in \(Self.describe(mount)); new cluster at \(pgdata)"
        case .pinSubdirectory(let mount, let name, let pgdata):
            return "old cluster stays at the root of \(Self.describe(mount)); service pinned to PGDATA=\(pgdata) (sub-directory \(name))"
        }
    }

    static func describe(_ location: DataLocation) -> String {
        switch location.kind {
        case .bind: return "bind directory \(location.hostPath ?? "?")"
        case .volume: return "volume \(location.volumeName ?? "?")"
        default: return location.summary
        }
    }

    static func relative(_ path: String, to root: String) -> String {
        let root = root.hasSuffix("/") ? String(root.dropLast()) : root
        guard path.hasPrefix(root + "/") else { return path == root ? "" : path }
        return String(path.dropFirst(root.count + 1))
    }

    /// Chooses the placement for `database` going to `targetMajor`.
    /// - Throws: `UpshiftError` when the data is not persistent or the new cluster would land outside it.
    public static func choose(database: DatabaseService, targetMajor: Int, oldMajor: Int, runID: RunID) throws -> DataPlacement {
        let location = database.dataLocation
        guard location.isPersistent, let mountTarget = location.mountTarget else {
            throw UpshiftError(
                "the database data of service \(database.service) is not on a persistent mount (\(location.summary))",
                hint: "mount a named volume or a host directory at \(database.pgdata) first; upshift will not move data it cannot keep")
        }
        let newDefault = database.pgdataIsExplicit ? database.pgdata : DatabaseService.defaultPGData(major: targetMajor)
        let newInsideMount = newDefault.hasPrefix(mountTarget.hasSuffix("/") ? mountTarget : mountTarget + "/")
        let suffix = "pg\(oldMajor)-\(runID.rawValue)"
        if let (mount, name) = location.parentForMoveAside {
            // A bind root seen through its parent keeps PGDATA where it was: the new cluster is created in
            // a fresh directory of the same name.
            let parentIsHostSide = location.subpath.isEmpty
            if parentIsHostSide {
                return .moveAside(mount: mount, name: name, asideName: "\(name).\(suffix)", newPGDATA: database.pgdata)
            }
            if newInsideMount {
                return .moveAside(mount: mount, name: name, asideName: "\(name).\(suffix)", newPGDATA: newDefault)
            }
        }
        let name = "pg\(targetMajor)"
        let base = mountTarget.hasSuffix("/") ? String(mountTarget.dropLast()) : mountTarget
        return .pinSubdirectory(mount: location, newName: name, newPGDATA: "\(base)/\(name)")
    }
}
