import Foundation

/// Step 6: the dump, taken while the old server still runs and before anything is stopped for good:
/// `pg_dumpall --globals-only` for roles and tablespaces, then one plain `pg_dump` per database, each
/// streamed to a file in the backup directory (never through memory), mode 0600, checked for pg_dump's
/// completion trailer, with size and SHA-256 in a manifest beside them.
///
/// The dump tools are the TARGET image's, run in a one-off container that shares the old server's network
/// namespace: PostgreSQL's own advice (a newer pg_dump reads an older server), and the restore then runs
/// a psql at least as new as the pg_dump that wrote the file. An older psql rejects what a newer pg_dump
/// writes — 15.18's `\restrict` lines stop 16.2's psql under ON_ERROR_STOP.
struct DumpClusterStep: StepAction {
    var world: PgUpgradeWorld

    static func directory(_ world: PgUpgradeWorld) -> String {
        world.context.backupDirectory + "/" + world.context.dumpBaseName
    }

    static func planned(_ world: PgUpgradeWorld) -> PlannedStep {
        let psql = PsqlRunner(compose: world.compose, database: world.database)
        _ = psql
        let dir = directory(world)
        let globals = dumpCommand(world, container: "<container of \(world.service)>", ["pg_dumpall", "--globals-only", "-U", world.database.superuser], environment: [:])
        let perDatabase = dumpCommand(world, container: "<container of \(world.service)>", ["pg_dump", "-U", world.database.superuser, "--create", "-d", "<database>"], environment: [:])
        return PlannedStep(
            id: "dump", title: "Dump the PostgreSQL \(world.context.oldMajor) cluster to \(dir)", kind: "pg.dump",
            commands: PlannedStep.render([globals, perDatabase], redactor: world.redactor), mutates: true, compensation: nil,
            notes: ["estimated size \(ByteFormat.string(world.context.databaseBytes)) (sum of pg_database_size); kept after the run"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let dir = Self.directory(world)
        try FileManager.default.createDirectory(atPath: world.context.backupDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let psql = PsqlRunner(compose: world.compose, database: world.database)
        let databases = try await psql.databases()
        var manifest = DumpManifest(oldMajor: world.context.oldMajor, superuser: world.database.superuser, files: [])

        let globals = try await dump(
            ["pg_dumpall", "--globals-only", "-U", world.database.superuser], to: dir + "/globals.sql",
            trailer: "PostgreSQL database cluster dump complete", context: context)
        manifest.files.append(DumpManifest.File(database: nil, name: "globals.sql", bytes: globals.bytes, sha256: globals.sha256))
        for (index, name) in databases.enumerated() {
            let file = "db-\(index + 1).sql"
            // The postgres database exists in every new cluster: restore into it instead of creating it.
            var argv = ["pg_dump", "-U", world.database.superuser]
            if name != "postgres" { argv.append("--create") }
            argv += ["-d", name]
            let written = try await dump(argv, to: dir + "/" + file, trailer: "PostgreSQL database dump complete", context: context)
            manifest.files.append(DumpManifest.File(database: name, name: file, bytes: written.bytes, sha256: written.sha256))
        }
        try manifest.write(to: dir + "/manifest.json")
        let total = manifest.files.reduce(Int64(0)) { $0 + $1.bytes }
        return StepOutcome(
            summary: "\(databases.count) databases, \(ByteFormat.string(total)) in \(dir)",
            data: .string(dir))
    }

    /// Streams one dump command's stdout into `path` and checks the file is complete.
    func dump(_ argv: [String], to path: String, trailer: String, context: StepContext) async throws -> (bytes: Int64, sha256: String) {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw UpshiftError("cannot create \(path)") }
        defer { try? handle.close() }
        var env: [String: String] = [:]
        if let password = world.database.password { env["PGPASSWORD"] = password }
        var command = Self.dumpCommand(world, container: try await container(), argv, environment: env)
        command.timeout = .seconds(6 * 3600)
        context.progress("\(argv[0]) → \((path as NSString).lastPathComponent)")
        let result = try await world.runner.run(command, stdout: .file(handle), onLine: nil)
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

    func isDiskFull(_ text: String) -> Bool { text.contains("No space left") }

    /// The id of the running old-server container, whose network namespace the dump container joins.
    func container() async throws -> String {
        let result = try await world.isolatedCompose.run(["ps", "-q", world.service], timeout: .seconds(60))
        guard let id = result.stdoutText.split(whereSeparator: \.isNewline).first.map(String.init), !id.isEmpty else {
            throw UpshiftError("the \(world.service) container is not running; cannot dump")
        }
        return id
    }

    /// `docker run` of a dump tool from the target image inside the old server's network namespace, so it
    /// reaches the server on 127.0.0.1 without publishing anything. The password travels by name (`-e`).
    static func dumpCommand(_ world: PgUpgradeWorld, container: String, _ argv: [String], environment: [String: String]) -> Command {
        var args = ["run", "--rm", "--network", "container:" + container, "--log-driver", "none", "--label", "com.upshift.helper=true"]
        for name in environment.keys.sorted() { args += ["-e", name] }
        args += ["--entrypoint", argv[0], world.context.targetImage.description]
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
        public var sha256: String
    }

    public var oldMajor: Int
    public var superuser: String
    public var files: [File]

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileManager.default.createFile(atPath: path, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600])
    }

    public static func read(_ path: String) throws -> DumpManifest {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpshiftError("missing dump manifest \(path)") }
        return try JSONDecoder().decode(DumpManifest.self, from: data)
    }
}
