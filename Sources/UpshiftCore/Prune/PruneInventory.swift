import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What past runs of a project kept, found from their journals (the source of truth of what a run moved
/// aside, staged or dumped) and measured through the engine: `upshift prune`'s listing.
///
/// Nothing here changes anything. Each data directory is looked at by one read-only helper container per
/// mount (the db image, as every other data operation), so named volumes and bind mounts are treated alike
/// and no host root is needed. Items that no longer exist are not listed.
public struct PruneInventory: Sendable {
    public var projectDirectory: String
    /// Where the database's data lives now (`DatabaseService.dataLocation`, and the pre-18 location an 18+
    /// image may still read): anything that is, holds or lies inside one of these is never removable.
    public var liveLocations: [DataLocation]
    /// Backup directories to look in besides those named in journals (default `<project>/backups`).
    public var backupDirectories: [String]
    /// Image of the read-only helpers (the db service's own).
    public var helperImage: String
    public var runner: any CommandRunning

    public init(projectDirectory: String, liveLocations: [DataLocation], backupDirectories: [String]? = nil, helperImage: String, runner: any CommandRunning) {
        self.projectDirectory = projectDirectory
        self.liveLocations = liveLocations
        self.backupDirectories = backupDirectories ?? [projectDirectory + "/backups"]
        self.helperImage = helperImage
        self.runner = runner
    }

    /// The runs considered: every run with a journal except prune runs (which keep nothing).
    struct RunInfo {
        var runID: RunID
        var state: RunState
    }

    /// Lists every kept item, oldest run first, with sizes, the run's command, whether `upshift rollback`
    /// of the latest run needs it, and why it may not be removed.
    /// - Throws: when a journal cannot be read (what that run left is then unknown) or the engine fails.
    public func collect() async throws -> [KeptItem] {
        var runs: [RunInfo] = []
        for runID in RunFolder.runIDs(projectDirectory: projectDirectory) {
            let folder = RunFolder(projectDirectory: projectDirectory, runID: runID)
            guard DurableFile.exists(folder.journalPath) else { continue }
            let state = try folder.loadState()
            if PruneRecord.isPruneRun(state) { continue }
            runs.append(RunInfo(runID: runID, state: state))
        }
        var candidates = runs.flatMap(Self.dataCandidates)
        candidates = try await measureDataDirectories(candidates)
        var items = candidates + dumps(runs) + (try await containers(runs))
        let latest = PruneRecord.latestUndoableRun(projectDirectory: projectDirectory)
        let latestState = latest.flatMap { folder in runs.first { $0.runID == folder.runID }?.state }
        for index in items.indices {
            items[index].refusal = refusal(for: items[index])
            if let latestState, items[index].runID == latestState.runID, !latestState.pendingUndo.isEmpty {
                items[index].neededForRollback = [.oldCluster, .dump, .unusableCluster].contains(items[index].kind)
            }
        }
        return items.sorted { ($0.runID, $0.kind.rawValue, $0.location) < ($1.runID, $1.kind.rawValue, $1.location) }
    }

    // MARK: - Data directories, from the compensations the journal recorded

    /// The directories a run's steps name in their undo data, whether or not they still exist.
    static func dataCandidates(_ run: RunInfo) -> [KeptItem] {
        var items: [KeptItem] = []
        func add(_ kind: KeptItem.Kind, _ mount: DataLocation, _ path: String?) {
            guard let path, KeptItem.hasRunName(path, kind: kind, runID: run.runID) else { return }
            var item = KeptItem(kind: kind, runID: run.runID, runCommand: run.state.command)
            item.mount = mount
            item.relativePath = path
            if !items.contains(where: { $0.kind == kind && $0.relativePath == path && $0.mount == mount }) { items.append(item) }
        }
        for step in run.state.steps {
            guard let spec = step.compensation else { continue }
            switch spec.kind {
            case DataRestoreCompensator.kind:
                guard let payload = try? spec.payload.decode(DataRestorePayload.self) else { continue }
                add(.oldCluster, payload.mount, payload.aside)
                add(.failedCluster, payload.mount, payload.failedName)
            case StagedClusterCompensator.kind:
                guard let payload = try? spec.payload.decode(StagedClusterPayload.self) else { continue }
                add(.staged, payload.mount, payload.relativePath)
                add(.copy, payload.mount, payload.copyRelativePath)
            case RebuildFromDumpCompensator.kind:
                guard let payload = try? spec.payload.decode(RebuildFromDumpPayload.self) else { continue }
                add(.unusableCluster, payload.mount, payload.unusableName)
            default:
                continue
            }
        }
        return items
    }

    /// `du -sk` of each candidate that exists, one read-only helper per mount; missing ones are dropped.
    func measureDataDirectories(_ candidates: [KeptItem]) async throws -> [KeptItem] {
        let ops = DataDirectoryOperations(runner: runner, image: helperImage)
        var mounts: [DataLocation] = []
        for item in candidates {
            if let root = item.mount.map(Self.root), !mounts.contains(root) { mounts.append(root) }
        }
        var result: [KeptItem] = []
        for mount in mounts {
            let mine = candidates.filter { $0.mount.map(Self.root) == mount }
            if try await ops.missingVolume(mount) != nil { continue }
            let paths = mine.map { DataDirectoryOperations.containerPath($0.relativePath ?? "") }
            var command = ops.helperCommand(mount, tool: "sh", ["-c", Self.sizeScript, "upshift-du"] + paths, readOnly: true)
            command.timeout = .seconds(600)
            let output = try await runner.run(command)
            if !output.termination.isSuccess {
                if try ops.bindSourceMissing(output, mount) { continue }
                throw UpshiftError("measuring the kept directories in \(DataPlacement.describe(mount)) failed: \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            var sizes: [String: Int64] = [:]
            for line in output.stdoutText.split(whereSeparator: \.isNewline) {
                let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
                if fields.count == 2, let kib = Int64(fields[0]) { sizes[fields[1]] = kib * 1024 }
            }
            for (item, path) in zip(mine, paths) {
                guard let bytes = sizes[path] else { continue }
                var measured = item
                measured.sizeBytes = bytes
                result.append(measured)
            }
        }
        return result
    }

    /// `du -sk` of each argument that exists (tab-separated, as du prints it); a constant, the paths come as
    /// positional parameters. Always exits 0 unless the shell itself fails.
    static let sizeScript = #"for p in "$@"; do if [ -e "$p" ]; then du -sk -- "$p" || exit 5; fi; done; exit 0"#

    /// The mount itself, without the sub-path that locates PGDATA in it.
    static func root(_ location: DataLocation) -> DataLocation {
        var root = location
        root.subpath = ""
        root.pgdata = ""
        return root
    }

    // MARK: - Dumps, by run id in the backup directories

    /// Entries of the backup directories (those named by the runs' dump steps, and the default one) whose
    /// name holds a run id of this project; `X.sha256` goes with `X`.
    func dumps(_ runs: [RunInfo]) -> [KeptItem] {
        var directories = backupDirectories
        for run in runs {
            for step in run.state.completedSteps where step.kind?.rawValue == "pg.dump" {
                if case .completed(let outcome) = step.progress, case .string(let path) = outcome.data {
                    let parent = (path as NSString).deletingLastPathComponent
                    if !directories.contains(parent) { directories.append(parent) }
                }
            }
        }
        var items: [KeptItem] = []
        let fm = FileManager.default
        for directory in directories {
            guard let names = try? fm.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where !name.hasSuffix(".sha256") {
                guard let run = runs.first(where: { name.contains($0.runID.rawValue) }) else { continue }
                var item = KeptItem(kind: .dump, runID: run.runID, runCommand: run.state.command)
                let path = directory + "/" + name
                item.hostPaths = [path] + (fm.fileExists(atPath: path + ".sha256") ? [path + ".sha256"] : [])
                item.sizeBytes = item.hostPaths.reduce(Int64(0)) { $0 + Self.hostSize($1) }
                items.append(item)
            }
        }
        return items
    }

    /// Bytes of a file, or of every file under a directory (dumps are written by upshift as the invoking
    /// user, so the host can read them).
    static func hostSize(_ path: String) -> Int64 {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return 0 }
        func size(_ file: String) -> Int64 { ((try? fm.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.int64Value ?? 0 }
        guard isDirectory.boolValue else { return size(path) }
        var total: Int64 = 0
        for relative in (fm.subpaths(atPath: path) ?? []) { total += size(path + "/" + relative) }
        return total
    }

    // MARK: - Containers an interrupted run left

    /// Containers labelled `com.upshift.run=<run>` or named `upshift-…-<run>` for a run of this project.
    func containers(_ runs: [RunInfo]) async throws -> [KeptItem] {
        guard !runs.isEmpty else { return [] }
        let list = try await runner.run(Command(
            "docker", ["ps", "-a", "--format", "{{.ID}}\t{{.Names}}\t{{.Label \"\(RunHelperContainers.label)\"}}"], timeout: .seconds(60)))
        try list.check()
        var byRun: [RunID: KeptItem] = [:]
        for line in list.stdoutText.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2 else { continue }
            let (id, name, label) = (fields[0], fields[1], fields.count > 2 ? fields[2] : "")
            guard let run = runs.first(where: { label == $0.runID.rawValue || (name.hasPrefix("upshift-") && name.hasSuffix("-" + $0.runID.rawValue)) })
            else { continue }
            var item = byRun[run.runID] ?? KeptItem(kind: .containers, runID: run.runID, runCommand: run.state.command)
            item.containerIDs.append(id)
            item.containerNames.append(name)
            byRun[run.runID] = item
        }
        return byRun.values.sorted { $0.runID < $1.runID }
    }

    // MARK: - The live cluster

    /// Why `item` must not be removed: it is, contains, or lies inside the data directory the project uses now.
    func refusal(for item: KeptItem) -> String? {
        guard item.kind.isDataDirectory, let mount = item.mount, let relative = item.relativePath else { return nil }
        let mine = Self.key(mount, relative)
        for live in liveLocations where live.isPersistent {
            let theirs = Self.key(live, live.subpath)
            guard mine.root == theirs.root else { continue }
            if mine.path.starts(with: theirs.path) || theirs.path.starts(with: mine.path) {
                return "it is (or holds) the data directory the db service uses now (\(live.summary)); upshift never removes the live cluster"
            }
        }
        return nil
    }

    /// A location as (what is mounted, path components inside it); a bind becomes its absolute host path,
    /// so a bind seen through its parent (`./postgres` as entry of `.`) compares equal to the bind itself.
    static func key(_ mount: DataLocation, _ relative: String) -> (root: String, path: [String]) {
        let inside = relative.split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." }
        switch mount.kind {
        case .bind:
            let host = ((mount.hostPath ?? "") as NSString).resolvingSymlinksInPath
            return ("bind", host.split(separator: "/").map(String.init) + inside)
        default:
            return ("volume:" + (mount.volumeName ?? ""), inside)
        }
    }
}
