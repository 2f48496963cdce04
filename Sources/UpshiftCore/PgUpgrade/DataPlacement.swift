import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Where the old cluster goes and where the new one is created. Decided once, before anything changes,
/// and shown in the plan.
public enum DataPlacement: Sendable, Hashable, Codable {
    /// PGDATA is an entry inside its mount (InvenTree's `pgdb` in the data volume, a bind directory seen
    /// through its parent, `15/docker` in an 18+-layout mount at `/var/lib/postgresql`): the old directory is
    /// renamed to `asideName` in the same mount — O(1), same filesystem, never a copy — and the new server
    /// initialises a fresh `newName` (relative to the same mount root) seen by the service as `newPGDATA`.
    case moveAside(mount: DataLocation, name: String, asideName: String, newName: String, newPGDATA: String)
    /// PGDATA is the root of a named volume (or of a bind that is a mount point on the host), which cannot be
    /// renamed from inside. The old cluster stays untouched where it is; the service is pinned (`PGDATA` in its
    /// environment) to a fresh sub-directory `newName` of the same volume. Rollback restores the files.
    case pinSubdirectory(mount: DataLocation, newName: String, newPGDATA: String)

    public var newPGDATA: String {
        switch self {
        case .moveAside(_, _, _, _, let pgdata), .pinSubdirectory(_, _, let pgdata): return pgdata
        }
    }

    /// The mount the data operations work in.
    public var mount: DataLocation {
        switch self {
        case .moveAside(let mount, _, _, _, _), .pinSubdirectory(let mount, _, _): return mount
        }
    }

    /// Where the new cluster lives, relative to the mount root.
    public var newRelativePath: String {
        switch self {
        case .moveAside(_, _, _, let name, _), .pinSubdirectory(_, let name, _): return name
        }
    }

    /// Where the old cluster is after the move, relative to the mount root.
    public var oldRelativePath: String {
        switch self {
        case .moveAside(_, _, let aside, _, _): return aside
        case .pinSubdirectory: return ""
        }
    }

    /// Whether the old cluster stays where it is (a volume root) and the new one goes into a sub-directory.
    public var pinsPGDATA: Bool {
        if case .pinSubdirectory = self { return true }
        return false
    }

    public var summary: String {
        switch self {
        case .moveAside(let mount, let name, let aside, let newName, let pgdata):
            return "old cluster \(name) renamed to \(aside) in \(Self.describe(mount)); new cluster in \(newName) (PGDATA \(pgdata))"
        case .pinSubdirectory(let mount, let name, let pgdata):
            return "old cluster stays at the root of \(Self.describe(mount)); service pinned to PGDATA=\(pgdata) (sub-directory \(name))"
        }
    }

    static func describe(_ location: DataLocation) -> String {
        switch location.kind {
        case .bind: return "bind directory \(location.hostPath ?? "?")"
        case .volume: return "volume \(location.volumeName ?? "?")" + (location.subpath.isEmpty ? "" : " (sub-path \(location.subpath))")
        default: return location.summary
        }
    }

    static func relative(_ path: String, to root: String) -> String {
        let root = root.hasSuffix("/") ? String(root.dropLast()) : root
        guard path.hasPrefix(root + "/") else { return path == root ? "" : path }
        return String(path.dropFirst(root.count + 1))
    }

    /// Chooses the placement for `database` going to `targetMajor`.
    /// - Parameter bindRootIsMountPoint: the bind source at PGDATA is itself a mount point on the engine's
    ///   host, so renaming it in its parent would cross filesystems (a copy): the new cluster then goes into
    ///   a sub-directory, as for a volume root.
    /// - Throws: `UpshiftError` when the data is not persistent.
    public static func choose(
        database: DatabaseService, targetMajor: Int, oldMajor: Int, runID: RunID, bindRootIsMountPoint: Bool = false
    ) throws -> DataPlacement {
        let location = database.dataLocation
        guard location.isPersistent, let mountTarget = location.mountTarget else {
            throw UpshiftError.usage(
                "the database data of service \(database.service) is not on a persistent mount (\(location.summary))",
                hint: "mount a named volume or a host directory at \(database.pgdata) first; upshift will not move data it cannot keep")
        }
        let base = mountTarget.hasSuffix("/") ? String(mountTarget.dropLast()) : mountTarget
        let suffix = "pg\(oldMajor)-\(runID.rawValue)"
        if location.subpath.isEmpty, location.kind == .bind, !bindRootIsMountPoint, let (parent, name) = location.parentForMoveAside {
            // A bind at PGDATA, seen through its parent: the new cluster is a fresh directory of the same name,
            // so PGDATA stays the mount target (pinned for 18+ images, whose default lies elsewhere).
            return .moveAside(mount: parent, name: name, asideName: "\(name).\(suffix)", newName: name, newPGDATA: database.pgdata)
        }
        if !location.subpath.isEmpty {
            let newPGDATA = Self.newPGDATA(database: database, oldMajor: oldMajor, targetMajor: targetMajor)
            if newPGDATA.hasPrefix(base + "/") {
                return .moveAside(
                    mount: location, name: location.subpath, asideName: "\(location.subpath).\(suffix)",
                    newName: relative(newPGDATA, to: base), newPGDATA: newPGDATA)
            }
        }
        let name = "pg\(targetMajor)"
        return .pinSubdirectory(mount: location, newName: name, newPGDATA: "\(base)/\(name)")
    }

    /// PGDATA of the new cluster when the old one is an entry of its mount: an explicit PGDATA naming the old
    /// major as a path component (the 18+ layout `/var/lib/postgresql/15/docker`) names the new major instead;
    /// another explicit PGDATA stays; otherwise the target image's default.
    static func newPGDATA(database: DatabaseService, oldMajor: Int, targetMajor: Int) -> String {
        guard database.pgdataIsExplicit else { return database.defaultPGData(major: targetMajor) }
        let parts = database.pgdata.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.contains(String(oldMajor)) else { return database.pgdata }
        return parts.map { $0 == String(oldMajor) ? String(targetMajor) : $0 }.joined(separator: "/")
    }

    /// The change to the service's `PGDATA` this placement needs in the compose file, `nil` for none: a pinned
    /// sub-directory, a bind at PGDATA going to 18+ (whose image default is `/var/lib/postgresql/18/docker`),
    /// or an explicit PGDATA that names the old major.
    public func pgdataEdit(database: DatabaseService, targetMajor: Int) -> PGDATAEdit? {
        if database.pgdataIsExplicit {
            return newPGDATA == database.pgdata ? nil : .replace(old: database.pgdata, new: newPGDATA)
        }
        return newPGDATA == database.defaultPGData(major: targetMajor) ? nil : .add(newPGDATA)
    }
}

/// How `switch-image` changes the service's `PGDATA` line in the compose file.
public enum PGDATAEdit: Sendable, Hashable, Codable {
    /// Add `PGDATA: value` to the service's environment (it has none).
    case add(String)
    /// Change the existing literal `PGDATA` value `old` to `new`.
    case replace(old: String, new: String)

    public var value: String {
        switch self {
        case .add(let value), .replace(_, let value): return value
        }
    }

    public var summary: String {
        switch self {
        case .add(let value): return "add PGDATA: \(value)"
        case .replace(let old, let new): return "change PGDATA from \(old) to \(new)"
        }
    }
}
