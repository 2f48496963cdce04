import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The dump, taken while the old server still runs and before anything is stopped for good:
/// `pg_dumpall --globals-only` for roles and tablespaces, then one plain `pg_dump` per database, each
/// streamed to a file in the backup directory (never through memory), mode 0600, checked for pg_dump's
/// completion trailer, with size and SHA-256 in a manifest beside them. In the window's `snapshot` and
/// `prepared` branches (`CheckSnapshotStep` proved nothing committed since the online snapshot), the files
/// `PrepareOnlineStep` dumped from that snapshot are the dump: it leaves the downtime.
///
/// The dump tools are the TARGET image's, run in a one-off container that shares the old server's network
/// namespace: PostgreSQL's own advice (a newer pg_dump reads an older server), and the restore then runs
/// a psql at least as new as the pg_dump that wrote the file. An older psql rejects what a newer pg_dump
/// writes — 15.18's `\restrict` lines stop 16.2's psql under ON_ERROR_STOP.
struct DumpClusterStep: PlanStep {
    var world: PgUpgradeWorld
    var source: Source = .window

    /// Where the dump comes from, as the window's branch decided.
    enum Source: Sendable, Hashable {
        /// Dumped now, the server isolated.
        case window
        /// The files dumped from the online snapshot, which the window found current.
        case snapshot
    }

    static func directory(_ world: PgUpgradeWorld) -> String {
        world.context.backupDirectory + "/" + world.context.dumpBaseName
    }

    /// The image whose tools dump: the target's (a newer pg_dump reads an older server), except for
    /// pg_upgrade link/swap, whose dump exists to rebuild the OLD cluster and must be readable by its psql.
    static func toolImage(_ world: PgUpgradeWorld) -> String {
        world.context.options.method == .pgUpgrade ? world.database.imageText : world.context.targetImage.description
    }

    /// Parallel jobs per database: directory format (`pg_dump -Fd -j N`) when above 1.
    static func jobs(_ world: PgUpgradeWorld) -> Int {
        world.context.options.method == .pgUpgrade ? 1 : max(1, world.context.jobs)
    }

    func planned() -> PlannedStep {
        let dir = Self.directory(world)
        if source == .snapshot {
            return PlannedStep(
                id: "dump", title: "Keep the dump taken from the online snapshot in \(dir) as the run's dump", kind: "pg.dump",
                mutates: true, compensation: nil, notes: ["nothing is dumped in the window: the files and their SHA-256 are from before it; kept after the run"])
        }
        let jobs = Self.jobs(world)
        let container = "<container of \(world.service)>"
        let globals = Self.dumpCommand(world, container: container, ["pg_dumpall", "--globals-only", "-U", world.database.superuser], environment: [:])
        let perDatabase = jobs > 1
            ? Self.dumpCommand(world, container: container, ["pg_dump", "-U", world.database.superuser, "-Fd", "-j", String(jobs), "-Z", "0", "-f", Self.dumpMount + "/db-N.dir", "-d", "<database>"], environment: [:], dumpDirectory: dir)
            : Self.dumpCommand(world, container: container, ["pg_dump", "-U", world.database.superuser, "--create", "-d", "<database>"], environment: [:])
        let title = jobs > 1
            ? "Dump the PostgreSQL \(world.context.oldMajor) cluster to \(dir) (globals + pg_dump -Fd -j \(jobs) per database)"
            : "Dump the PostgreSQL \(world.context.oldMajor) cluster to \(dir)"
        var notes = ["estimated size \(ByteFormat.string(world.context.databaseBytes)) (sum of pg_database_size); kept after the run"]
        if world.context.options.method == .pgUpgrade {
            notes.append("taken with the old image's tools: it is what rebuilds the old cluster if the run is undone after pg_upgrade --\(world.context.options.mode.rawValue)")
        }
        return PlannedStep(
            id: "dump", title: title, kind: "pg.dump",
            commands: PlannedStep.render([globals, perDatabase], redactor: world.redactor), mutates: true, compensation: nil, notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let dir = Self.directory(world)
        let fm = FileManager.default
        var manifest = DumpManifest(oldMajor: world.context.oldMajor, superuser: world.database.superuser, files: [])
        let globals: DumpManifest.File
        switch source {
        case .snapshot:
            // The per-database dumps and the globals taken from the online snapshot still show the whole
            // cluster (`CheckSnapshotStep` found no commit since): they are the dump. The globals were read
            // after the snapshot, so any change to roles was a transaction that check would have found.
            guard let online = try OnlinePreparation.load(world.runFolder), let onlineGlobals = online.globals, !online.dumpFiles.isEmpty else {
                throw UpshiftError("internal: the snapshot branch runs, but the online dump is missing from \(world.runFolder.path)")
            }
            manifest.files = online.dumpFiles
            globals = onlineGlobals
        case .window:
            if fm.fileExists(atPath: dir) {
                context.progress("the online dump is outdated: removing it and dumping again")
                try fm.removeItem(atPath: dir)
            }
            try Self.createDirectory(world)
            let databases = try await PsqlRunner(compose: world.compose, database: world.database).databases()
            manifest.files = try await dumpDatabases(databases, into: dir, snapshots: [:], context: context)
            globals = try await dumpGlobals(into: dir, context: context)
        }
        manifest.files.insert(globals, at: 0)
        try manifest.write(to: dir + "/manifest.json")
        let total = manifest.files.reduce(Int64(0)) { $0 + $1.bytes }
        let count = manifest.files.count - 1
        return StepOutcome(
            summary: source == .snapshot
                ? "reused the dump taken before the window (unchanged since its snapshot): \(count) databases, \(ByteFormat.string(total)) in \(dir); globals from before the window too"
                : "\(count) databases, \(ByteFormat.string(total)) in \(dir)",
            data: .string(dir))
    }

    /// Creates the run's dump directory (0700, inside a 0700 backup directory); fails if it exists.
    static func createDirectory(_ world: PgUpgradeWorld) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: world.context.backupDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try fm.createDirectory(atPath: directory(world), withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    }

    /// One dump per database into `dir` (`db-N.dir` with `-Fd -j N`, else `db-N.sql`), each read from the
    /// exported snapshot named for it in `snapshots`, if any. Shared by the window and `PrepareOnlineStep`,
    /// so both write the same files the restore expects.
    func dumpDatabases(_ databases: [String], into dir: String, snapshots: [String: String], context: StepContext) async throws -> [DumpManifest.File] {
        let jobs = Self.jobs(world)
        var files: [DumpManifest.File] = []
        for (index, name) in databases.enumerated() {
            let snapshot = snapshots[name].map { ["--snapshot=" + $0, "--lock-wait-timeout=60s"] } ?? []
            if jobs > 1 {
                let file = "db-\(index + 1).dir"
                let written = try await dumpDirectory(name, to: file, in: dir, jobs: jobs, extra: snapshot, context: context)
                files.append(DumpManifest.File(database: name, name: file, bytes: written.bytes, sha256: written.sha256, format: "directory"))
            } else {
                let file = "db-\(index + 1).sql"
                // The postgres database exists in every new cluster: restore into it instead of creating it.
                var argv = ["pg_dump", "-U", world.database.superuser] + snapshot
                if name != "postgres" { argv.append("--create") }
                argv += ["-d", ConnInfo.dbname(name)]
                let written = try await dump(argv, to: dir + "/" + file, trailer: "PostgreSQL database dump complete", context: context)
                files.append(DumpManifest.File(database: name, name: file, bytes: written.bytes, sha256: written.sha256))
            }
        }
        return files
    }

    /// Runs "$0" "$@" with umask 077. Constant text: the tool and its arguments are passed as argv.
    static let privateUmaskScript = "umask 077 && exec \"$0\" \"$@\""

    /// Where a one-off tool container sees the run's dump directory.
    static let dumpMount = "/upshift-dump"

    /// `pg_dump -Fd -j N` of one database into `dir/file`, written by the container as the invoking user
    /// (so upshift can hash it without root), uncompressed: on the engine host's few cores compression
    /// would cost more downtime than the disk it saves.
    func dumpDirectory(_ database: String, to file: String, in dir: String, jobs: Int, extra: [String] = [], context: StepContext) async throws -> (bytes: Int64, sha256: String) {
        let env = world.database.passwordEnvironment
        let argv = ["pg_dump", "-U", world.database.superuser, "-Fd", "-j", String(jobs), "-Z", "0"] + extra + ["-f", Self.dumpMount + "/" + file, "-d", ConnInfo.dbname(database)]
        var command = Self.dumpCommand(world, container: try await container(), argv, environment: env, dumpDirectory: dir)
        command.timeout = .seconds(6 * 3600)
        context.progress("pg_dump → \(file) (\(database), -Fd -j \(jobs))")
        let result = try await DumpProgress(directory: dir, estimate: world.context.databaseBytes).watching("pg_dump → \(file)", context: context) {
            try await world.runner.run(command, stdout: .discard, onLine: nil)
        }
        guard result.termination.isSuccess else {
            let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw UpshiftError("pg_dump of \(database) failed (\(result.termination)): \(world.redactor.redact(String(stderr.suffix(600))))", hint: isDiskFull(stderr) ? "the backup disk is full; free space or use --backup-dir" : nil)
        }
        guard FileManager.default.fileExists(atPath: dir + "/" + file + "/toc.dat") else {
            throw UpshiftError("the dump \(dir)/\(file) is incomplete: toc.dat is missing")
        }
        // pg_dump creates them under the container's umask (0644): a dump is as private as the database.
        let fm = FileManager.default
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dir + "/" + file)
        for name in try fm.contentsOfDirectory(atPath: dir + "/" + file) {
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/" + file + "/" + name)
        }
        return try DumpManifest.digestDirectory(dir + "/" + file)
    }

    /// Streams one dump command's stdout into `path` and checks the file is complete.
    func dump(_ argv: [String], to path: String, trailer: String, context: StepContext) async throws -> (bytes: Int64, sha256: String) {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw UpshiftError("cannot create \(path)") }
        defer { try? handle.close() }
        let env = world.database.passwordEnvironment
        var command = Self.dumpCommand(world, container: try await container(), argv, environment: env)
        command.timeout = .seconds(6 * 3600)
        let file = (path as NSString).lastPathComponent
        context.progress("\(argv[0]) → \(file)")
        let result = try await DumpProgress(directory: (path as NSString).deletingLastPathComponent, estimate: world.context.databaseBytes).watching("\(argv[0]) → \(file)", context: context) {
            try await world.runner.run(command, stdout: .file(handle), onLine: nil)
        }
        try handle.synchronize()
        guard result.termination.isSuccess else {
            let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw UpshiftError("\(argv[0]) failed (\(result.termination)): \(world.redactor.redact(String(stderr.suffix(600))))", hint: isDiskFull(stderr) ? "the backup disk is full; free space or use --backup-dir" : nil)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        guard try Self.endsWith(path: path, marker: trailer) else {
            throw UpshiftError("the dump \(path) is incomplete: pg_dump's trailer \"\(trailer)\" is missing (\(bytes) bytes written)", hint: "check free space in the backup directory")
        }
        return (bytes, try SHA256.hexOfFile(atPath: path))
    }

    /// `pg_dumpall --globals-only` into `dir/globals.sql`.
    func dumpGlobals(into dir: String, context: StepContext) async throws -> DumpManifest.File {
        let written = try await dump(
            ["pg_dumpall", "--globals-only", "-U", world.database.superuser], to: dir + "/globals.sql",
            trailer: "PostgreSQL database cluster dump complete", context: context)
        return DumpManifest.File(database: nil, name: "globals.sql", bytes: written.bytes, sha256: written.sha256)
    }

    func isDiskFull(_ text: String) -> Bool { text.contains("No space left") }

    /// The id of the running old-server container, whose network namespace the dump container joins.
    /// Asked through the user's files alone: before the window there is no isolation override yet.
    func container() async throws -> String {
        let result = try await world.compose.run(["ps", "-q", world.service], timeout: .seconds(60))
        guard let id = result.stdoutText.split(whereSeparator: \.isNewline).first.map(String.init), !id.isEmpty else {
            throw UpshiftError("the \(world.service) container is not running; cannot dump")
        }
        return id
    }

    /// `docker run` of a dump tool from the target image inside the old server's network namespace, so it
    /// reaches the server on 127.0.0.1 without publishing anything. The password travels by name (`-e`).
    /// - Parameter runArguments: further `docker run` options (the staged upgrade's `pg_basebackup` runs as
    ///   the data owner on the data mount).
    static func dumpCommand(_ world: PgUpgradeWorld, container: String, _ argv: [String], environment: [String: String], dumpDirectory: String? = nil, readOnly: Bool = false, image: String? = nil, runArguments: [String] = []) -> Command {
        var args = ["run", "--rm", "--network", "container:" + container, "--log-driver", "none", "--label", "com.upshift.helper=true"]
        args += RunHelperContainers.arguments(runID: world.context.runID.rawValue) + runArguments
        if let dumpDirectory {
            args += ["--user", "\(getuid()):\(getgid())", "--mount", "type=bind," + DataDirectoryOperations.csvField("source=" + dumpDirectory) + ",target=" + dumpMount + (readOnly ? ",readonly" : "")]
        }
        for name in environment.keys.sorted() { args += ["-e", name] }
        if dumpDirectory != nil && !readOnly {
            // pg_dump -Fd creates its files under the process umask (0644 in a container): a killed or failed
            // dump would leave world-readable files. A fixed script sets umask 077; the tool and all data stay
            // argv ("$0" "$@"), never part of the script.
            args += ["--entrypoint", "sh", image ?? toolImage(world), "-c", Self.privateUmaskScript, argv[0]]
        } else {
            args += ["--entrypoint", argv[0], image ?? toolImage(world)]
        }
        args += Array(argv.dropFirst()) + ["-h", "127.0.0.1", "-p", "5432"]
        return Command("docker", args, environment: environment)
    }

    /// Whether the last 4 KiB of the file contain `marker` (pg_dump writes it only when it finished).
    static func endsWith(path: String, marker: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
        let tail = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        return tail.contains(marker)
    }
}

/// What a dump directory holds, written beside the files: which file is which database, and its hash.
public struct DumpManifest: Sendable, Hashable, Codable {
    public struct File: Sendable, Hashable, Codable {
        /// `nil` for the globals file.
        public var database: String?
        public var name: String
        public var bytes: Int64
        /// For `directory`, a digest of every file's name and SHA-256 (`digestDirectory`).
        public var sha256: String
        /// `plain` (psql script, the default when absent) or `directory` (`pg_dump -Fd`, for pg_restore).
        public var format: String?

        public init(database: String?, name: String, bytes: Int64, sha256: String, format: String? = nil) {
            self.database = database
            self.name = name
            self.bytes = bytes
            self.sha256 = sha256
            self.format = format
        }

        public var isDirectory: Bool { format == "directory" }
    }

    /// Total size and a digest of a `-Fd` dump directory: SHA-256 over "name sha256" lines of its files,
    /// sorted, so any changed, missing or added file changes it.
    public static func digestDirectory(_ path: String) throws -> (bytes: Int64, sha256: String) {
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        var lines = ""
        var bytes: Int64 = 0
        for name in names {
            let file = path + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            bytes += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            lines += name + " " + (try SHA256.hexOfFile(atPath: file)) + "\n"
        }
        return (bytes, SHA256.hex(of: lines))
    }

    /// Re-computes a file's digest the way it was recorded.
    public static func digest(of file: File, in directory: String) throws -> String {
        file.isDirectory ? try digestDirectory(directory + "/" + file.name).sha256 : try SHA256.hexOfFile(atPath: directory + "/" + file.name)
    }

    public var oldMajor: Int
    public var superuser: String
    public var files: [File]

    public func write(to path: String) throws {
        try PrivateJSON.write(self, to: path)
    }

    public static func read(_ path: String) throws -> DumpManifest {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpshiftError("missing dump manifest \(path)") }
        return try JSONDecoder().decode(DumpManifest.self, from: data)
    }
}
