import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// One thing a past run left behind on purpose (runs never delete: principle 1), as `upshift prune` lists
/// and removes it.
///
/// Every item is derived from a run's journal (or named with its run id in the backup directory) and
/// carries that run id, so prune can only ever offer what a run of this project created.
public struct KeptItem: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The old major's cluster, renamed aside by `move-data-aside` (`<pgdata>.pg15-<run>`).
        case oldCluster = "old-cluster"
        /// A new cluster an undo moved out of the way (`<pgdata>.failed-<run>`).
        case failedCluster = "failed-cluster"
        /// Old files pg_upgrade --link/--swap made unusable, kept by the rebuild undo (`….unusable-<run>`).
        case unusableCluster = "unusable-cluster"
        /// A cluster prepared before the window and never renamed into place (`….staged-<run>`).
        case staged
        /// pg_upgrade's private copy of the old cluster (`….copy-<run>`).
        case copy
        /// A dump (or dump directory) in the backup directory, with its `.sha256` when there is one.
        case dump
        /// Containers labelled with the run (`upshift-…-<run>`) that an interrupted run left.
        case containers

        /// Words for people.
        public var label: String {
            switch self {
            case .oldCluster: return "old cluster"
            case .failedCluster: return "failed new cluster"
            case .unusableCluster: return "unusable old files"
            case .staged: return "staged cluster"
            case .copy: return "private copy"
            case .dump: return "dump"
            case .containers: return "containers"
            }
        }

        /// The suffix a run gives the directory (`<name>.<suffix><run-id>`), for kinds that live in a data mount.
        var directorySuffix: String? {
            switch self {
            case .oldCluster: return ".pg"
            case .failedCluster: return ".failed-"
            case .unusableCluster: return ".unusable-"
            case .staged: return ".staged-"
            case .copy: return ".copy-"
            case .dump, .containers: return nil
            }
        }

        /// True for directories inside the database's mount (removed by a helper container of the db image).
        public var isDataDirectory: Bool { directorySuffix != nil }
    }

    public var kind: Kind
    /// The run that created it.
    public var runID: RunID
    /// That run's command (`pg-upgrade --to 18`), for the listing.
    public var runCommand: String?
    /// Data directories: the mount and the path relative to its root.
    public var mount: DataLocation?
    public var relativePath: String?
    /// Dumps: the host paths (the dump and its `.sha256`).
    public var hostPaths: [String] = []
    /// Containers: their names (ids in `containerIDs`).
    public var containerNames: [String] = []
    public var containerIDs: [String] = []
    /// Bytes on disk (`du`), `nil` when it could not be measured.
    public var sizeBytes: Int64?
    /// `upshift rollback` of the latest run would need it (its old cluster or dump).
    public var neededForRollback = false
    /// Why prune will not remove it (it is, or holds, the cluster the project uses now), `nil` when it may.
    public var refusal: String?

    public init(kind: Kind, runID: RunID, runCommand: String? = nil) {
        self.kind = kind
        self.runID = runID
        self.runCommand = runCommand
    }

    public var isRemovable: Bool { refusal == nil }

    /// Where it is, for people: the host path of a bind, `volume NAME: path` for a named volume.
    public var location: String {
        switch kind {
        case .dump: return hostPaths.first ?? "?"
        case .containers: return containerNames.joined(separator: ", ")
        default:
            guard let mount, let relativePath else { return "?" }
            switch mount.kind {
            case .bind: return (mount.hostPath ?? "?") + "/" + relativePath
            default: return "volume \(mount.volumeName ?? "?"): \(relativePath)"
            }
        }
    }

    /// The plan step's id: unique per item, ending in the run id, so a later `rollback` can tell from the
    /// prune run's journal what of which run is gone (`PruneRecord`).
    public var stepID: String { "remove-\(kind.rawValue)-\(runID.rawValue)" }

    /// The plan step's kind (`prune.remove.old-cluster`).
    public var stepKind: StepKind { StepKind(PruneRecord.stepKindPrefix + kind.rawValue) }

    /// Whether `path` (relative to a mount root) has the name a run gives an item of `kind`: `<x>.pg<N>-<run>`,
    /// `<x>.failed-<run>` …, no `..`, not the mount root. The last check before anything is deleted.
    public static func hasRunName(_ path: String, kind: Kind, runID: RunID) -> Bool {
        guard let suffix = kind.directorySuffix, !path.isEmpty, !path.hasPrefix("/"),
              !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else { return false }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name.hasSuffix(runID.rawValue) else { return false }
        let head = name.dropLast(runID.rawValue.count)
        if kind == .oldCluster {
            // `<x>.pg15-`: a major between the suffix and the dash.
            guard head.hasSuffix("-"), let dot = head.range(of: suffix, options: .backwards) else { return false }
            let major = head[dot.upperBound...].dropLast()
            return dot.lowerBound > head.startIndex && !major.isEmpty && major.allSatisfy(\.isNumber)
        }
        return head.hasSuffix(suffix) && head.count > suffix.count
    }
}
