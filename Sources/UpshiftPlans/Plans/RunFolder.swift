import Foundation
import UpshiftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `<project>/.upshift/runs/<run-id>/`: the plan as executed, the journal, and byte-exact copies of the
/// compose files and `.env` taken before anything changed. Directories are 0700 and files 0600: the
/// snapshot holds `.env`, which usually holds passwords.
public struct RunFolder: Sendable, Hashable {
    public let projectDirectory: String
    public let runID: RunID

    public init(projectDirectory: String, runID: RunID) {
        self.projectDirectory = projectDirectory
        self.runID = runID
    }

    /// `<project>/.upshift`
    public static func stateDirectory(projectDirectory: String) -> String { projectDirectory + "/.upshift" }
    public static func runsDirectory(projectDirectory: String) -> String { stateDirectory(projectDirectory: projectDirectory) + "/runs" }

    public var path: String { RunFolder.runsDirectory(projectDirectory: projectDirectory) + "/" + runID.rawValue }
    public var planPath: String { path + "/plan.json" }
    public var journalPath: String { path + "/journal.jsonl" }
    public var snapshotDirectory: String { path + "/compose" }
    public var manifestPath: String { snapshotDirectory + "/manifest.json" }

    /// Creates the folder; refuses an existing one (a run id names exactly one run).
    public static func create(projectDirectory: String, runID: RunID) throws -> RunFolder {
        let folder = RunFolder(projectDirectory: projectDirectory, runID: runID)
        let runs = runsDirectory(projectDirectory: projectDirectory)
        do {
            try DurableFile.makeDirectory(runs)
            _ = chmod(stateDirectory(projectDirectory: projectDirectory), 0o700)
            guard mkdir(folder.path, 0o700) == 0 else { throw DurableFile.fail("mkdir", folder.path) }
            _ = chmod(folder.path, 0o700)
            DurableFile.syncDirectory(runs)
        } catch let failure as DurableFile.Failure {
            throw UpshiftError("cannot create the run folder: \(failure)", exitCode: .failedRolledBack)
        }
        return folder
    }

    /// An existing run's folder.
    public static func open(projectDirectory: String, runID: RunID) throws -> RunFolder {
        let folder = RunFolder(projectDirectory: projectDirectory, runID: runID)
        guard DurableFile.exists(folder.path) else {
            throw UpshiftError.usage("no run \(runID) in \(runsDirectory(projectDirectory: projectDirectory))", hint: "`upshift log` lists the runs")
        }
        return folder
    }

    /// Every run of the project, oldest first.
    public static func runIDs(projectDirectory: String) -> [RunID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runsDirectory(projectDirectory: projectDirectory))) ?? []
        return names.compactMap(RunID.init).sorted()
    }

    /// The newest run, if any.
    public static func latest(projectDirectory: String) -> RunFolder? {
        runIDs(projectDirectory: projectDirectory).last.map { RunFolder(projectDirectory: projectDirectory, runID: $0) }
    }

    /// The newest run that left changes needing `upshift rollback` (see `RunState.needsRollback`), so a
    /// new run can refuse to start over it and `status` can show it. Runs without a journal changed nothing.
    ///
    /// - Throws: when a journal exists but cannot be read: its run's state is unknown, which is not "fine".
    public static func runNeedingRollback(projectDirectory: String) throws -> (folder: RunFolder, state: RunState)? {
        for runID in runIDs(projectDirectory: projectDirectory).reversed() {
            let folder = RunFolder(projectDirectory: projectDirectory, runID: runID)
            guard DurableFile.exists(folder.journalPath) else { continue }
            let state = try folder.loadState()
            if state.needsRollback { return (folder, state) }
        }
        return nil
    }

    // MARK: - Plan and journal

    /// Writes `plan.json`, every secret masked (in its JSON-escaped form too).
    public func writePlan(_ plan: Plan, redactor: Redactor) throws {
        let text = redactor.redact(String(decoding: try plan.jsonData(), as: UTF8.self))
        try DurableFile.atomicWrite(Data(text.utf8), to: planPath, mode: 0o600)
    }

    public func readPlan() throws -> Plan {
        guard let data = FileManager.default.contents(atPath: planPath) else { throw UpshiftError("cannot read \(planPath)") }
        return try Plan.decode(data)
    }

    public func createJournal(clock: @escaping @Sendable () -> Date = { Date() }) throws -> RunJournal {
        try RunJournal.create(at: journalPath, clock: clock)
    }

    public func openJournal(clock: @escaping @Sendable () -> Date = { Date() }) throws -> RunJournal {
        try RunJournal.openForAppend(at: journalPath, clock: clock)
    }

    public func loadState() throws -> RunState { try RunState.load(path: journalPath) }

    // MARK: - Compose snapshot

    /// Copies `files` (compose files, `.env`) byte for byte into `compose/` and writes the manifest.
    /// Symbolic links are followed: the manifest records the real path, which is what restore rewrites.
    @discardableResult
    public func snapshot(files: [String]) throws -> SnapshotManifest {
        try DurableFile.makeDirectory(snapshotDirectory)
        var manifest = SnapshotManifest(entries: [])
        for (number, file) in files.enumerated() {
            let resolved = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
            guard let data = FileManager.default.contents(atPath: resolved) else {
                throw UpshiftError("cannot read \(file) to snapshot it")
            }
            let attributes = try DurableFile.attributes(resolved)
            let stored = "\(number)-" + (resolved as NSString).lastPathComponent
            try DurableFile.atomicWrite(data, to: snapshotDirectory + "/" + stored, mode: 0o600)
            manifest.entries.append(.init(
                path: file, resolvedPath: resolved, storedName: stored, size: data.count,
                mode: Int(attributes.mode), uid: Int(attributes.uid), gid: Int(attributes.gid),
                sha256: SnapshotDigest.sha256(data)))
        }
        try DurableFile.atomicWrite(try manifest.jsonData(), to: manifestPath, mode: 0o600)
        return manifest
    }

    public func manifest() throws -> SnapshotManifest {
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw UpshiftError("the run \(runID) has no compose snapshot (\(manifestPath))", exitCode: .failedRollbackIncomplete)
        }
        return try PlanJSON.decoder().decode(SnapshotManifest.self, from: data)
    }

    /// Puts snapshotted files back byte for byte, with their recorded mode (and owner, when permitted).
    /// Files that already hold the snapshot bytes are left alone, so restoring twice is harmless.
    ///
    /// - Parameter only: restrict to these paths (as given to `snapshot` or resolved); all when nil.
    /// - Returns: the paths actually rewritten.
    @discardableResult
    public func restoreSnapshot(only: [String]? = nil) throws -> [String] {
        let writes = try snapshotWrites(only: only)
        for (entry, data) in writes {
            try DurableFile.atomicWrite(data, to: entry.resolvedPath, mode: mode_t(entry.mode), owner: (uid_t(entry.uid), gid_t(entry.gid)))
        }
        return writes.map(\.entry.path)
    }

    /// The files a restore would rewrite, each checked: throws (writing nothing) when a copy is damaged or a
    /// file was edited after the run. `rollback` calls it before undoing anything.
    public func checkSnapshotRestorable(only: [String]? = nil) throws {
        _ = try snapshotWrites(only: only)
    }

    func snapshotWrites(only: [String]?) throws -> [(entry: SnapshotManifest.Entry, data: Data)] {
        let manifest = try manifest()
        // Every file is checked before any is written: a file edited since the run stops the restore whole.
        var writes: [(entry: SnapshotManifest.Entry, data: Data)] = []
        for entry in manifest.entries {
            if let only, !only.contains(entry.path), !only.contains(entry.resolvedPath) { continue }
            let stored = snapshotDirectory + "/" + entry.storedName
            guard let data = FileManager.default.contents(atPath: stored), data.count == entry.size,
                  entry.sha256 == nil || SnapshotDigest.sha256(data) == entry.sha256
            else {
                throw UpshiftError("the snapshot copy \(stored) of \(entry.path) is missing or damaged", exitCode: .failedRollbackIncomplete)
            }
            let current = FileManager.default.contents(atPath: entry.resolvedPath)
            if current == data, let attributes = try? DurableFile.attributes(entry.resolvedPath), Int(attributes.mode) == entry.mode {
                continue
            }
            try refuseEditedSince(entry, current: current, snapshot: data)
            writes.append((entry, data))
        }
        return writes
    }
}

/// What `compose/manifest.json` records for each snapshotted file.
public struct SnapshotManifest: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        /// The path as the run was given it.
        public var path: String
        /// The real file behind `path` (symbolic links followed); what restore rewrites.
        public var resolvedPath: String
        /// File name of the copy inside `compose/`.
        public var storedName: String
        public var size: Int
        public var mode: Int
        public var uid: Int
        public var gid: Int
        /// Hex SHA-256 of the bytes.
        public var sha256: String?
    }

    public var entries: [Entry]

    func jsonData() throws -> Data {
        var data = try PlanJSON.encoder(pretty: true).encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}

/// The hash recorded in snapshot manifests (hex SHA-256, the shared `Support/SHA256.swift`). Optional in
/// the manifest so that a manifest written without it still restores (checked by size and bytes then).
enum SnapshotDigest {
    static func sha256(_ data: Data) -> String? { SHA256.hex(of: data) }
}
