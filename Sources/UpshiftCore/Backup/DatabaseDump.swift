import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

/// A tool-level dump of the application database: `pg_dump -Fc` run inside the database service's own
/// container (its client always matches the server), streamed to a file on the host, mode 0600, checked
/// to be a readable archive (`pg_restore --list`), with a `sha256sum`-style sidecar beside it.
///
/// It is upshift's own safety net, independent of the application: InvenTree's backups leave out
/// `django_session` rows, so only this dump can put a database back exactly as it was.
public struct DatabaseDump: Sendable {
    public var compose: ComposeOperations
    public var database: DatabaseService

    public init(compose: ComposeOperations, database: DatabaseService) {
        self.compose = compose
        self.database = database
    }

    private var passwordEnvironment: [String: String] { database.passwordEnvironment }

    /// The dump command (password by name only).
    public func dumpCommand() -> Command {
        compose.execCommand(database.service, ["pg_dump", "-Fc", "-U", database.superuser, "-d", ConnInfo.dbname(database.database)], environment: passwordEnvironment, timeout: .seconds(6 * 3600))
    }

    /// The restore commands, for plans: drop the database (after closing its sessions), then recreate it
    /// from the archive with its original owner, encoding and locale.
    public func restoreCommands() -> [Command] {
        [psqlCommand(Self.dropSQL(database.database)), restoreCommand()]
    }

    /// Writes the dump to `path` (0600) and its `.sha256` sidecar.
    @discardableResult
    public func dump(to path: String, progress: @Sendable (String) -> Void = { _ in }) async throws -> DumpFile {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard !FileManager.default.fileExists(atPath: path) else { throw UpshiftError("\(path) already exists; upshift never overwrites a dump") }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw UpshiftError("cannot create \(path)") }
        progress("pg_dump -Fc \(database.database) → \(path)")
        let result: CommandResult
        do {
            result = try await compose.runner.run(dumpCommand(), stdout: .file(handle), onLine: nil)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        guard result.termination.isSuccess else {
            throw UpshiftError("pg_dump of \(database.database) failed (\(result.termination)): \(compose.redactor.redact(InvokeOutput.tail(result.stderrText, lines: 6)))",
                               hint: result.stderrText.contains("No space left") ? "the backup disk is full" : nil)
        }
        // A truncated custom-format archive fails to list.
        var list = compose.execCommand(database.service, ["pg_restore", "--list"], timeout: .seconds(600))
        list.standardInputFile = path
        let listed = try await compose.runner.run(list, stdout: .discard, onLine: nil)
        guard listed.termination.isSuccess else {
            throw UpshiftError("the dump \(path) is not a readable archive: \(InvokeOutput.tail(listed.stderrText, lines: 3))")
        }
        let file = try DumpFile.describe(path)
        try file.writeSidecar()
        return file
    }

    /// Replaces the database with the archive at `path` after checking it against its recorded hash.
    /// Every session of the database is closed first; the caller stops the application.
    public func restore(from path: String, expectedSHA256: String?, progress: @Sendable (String) -> Void = { _ in }) async throws {
        let actual = try SHA256.hexOfFile(atPath: path)
        let expected = expectedSHA256 ?? DumpFile.readSidecar(path)
        if let expected, expected != actual {
            throw UpshiftError("the dump \(path) changed since it was written (SHA-256 \(actual), recorded \(expected)); not restoring it")
        }
        progress("dropping database \(database.database)")
        let drop = try await compose.runner.run(psqlCommand(Self.dropSQL(database.database)))
        try drop.check(redactor: compose.redactor)
        progress("pg_restore --create \(path)")
        var restore = restoreCommand()
        restore.standardInputFile = path
        let result = try await compose.runner.run(restore, stdout: .discard, onLine: nil)
        guard result.termination.isSuccess else {
            throw UpshiftError("pg_restore of \(path) failed (\(result.termination)): \(compose.redactor.redact(InvokeOutput.tail(result.stderrText, lines: 8)))")
        }
    }

    /// Polls `pg_isready` inside the database container until it accepts connections.
    public func waitUntilReady(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        let probe = compose.execCommand(database.service, ["pg_isready", "-q", "-U", database.superuser, "-d", maintenanceDatabase], timeout: .seconds(30))
        while true {
            if let result = try? await compose.runner.run(probe), result.termination.isSuccess {
                let login = try? await compose.runner.run(psqlCommand(["SELECT 1"]))
                if login?.termination.isSuccess == true { return }
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the database service \(database.service) did not accept connections within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// The database psql connects to while the application database is dropped and recreated.
    var maintenanceDatabase: String { database.database == "postgres" ? "template1" : "postgres" }

    static func dropSQL(_ name: String) -> [String] {
        let literal = "'" + name.replacingOccurrences(of: "'", with: "''") + "'"
        return [
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = \(literal) AND pid <> pg_backend_pid()",
            "DROP DATABASE IF EXISTS \(quoteIdent(name))",
        ]
    }

    static func quoteIdent(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    func psqlCommand(_ statements: [String]) -> Command {
        var argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", database.superuser, "-d", maintenanceDatabase]
        for statement in statements { argv += ["-c", statement] }
        return compose.execCommand(database.service, argv, environment: passwordEnvironment, timeout: .seconds(600))
    }

    func restoreCommand() -> Command {
        compose.execCommand(
            database.service, ["pg_restore", "--create", "--exit-on-error", "-U", database.superuser, "-d", maintenanceDatabase],
            environment: passwordEnvironment, timeout: .seconds(6 * 3600))
    }
}

/// A dump file on the host with its size and hash.
public struct DumpFile: Sendable, Hashable, Codable {
    public var path: String
    public var bytes: Int64
    public var sha256: String

    public init(path: String, bytes: Int64, sha256: String) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }

    public static func describe(_ path: String) throws -> DumpFile {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        return DumpFile(path: path, bytes: bytes, sha256: try SHA256.hexOfFile(atPath: path))
    }

    public var sidecarPath: String { path + ".sha256" }

    /// `<hex>  <file name>` — checkable with `sha256sum -c` in the same directory.
    public func writeSidecar() throws {
        let line = "\(sha256)  \((path as NSString).lastPathComponent)\n"
        guard FileManager.default.createFile(atPath: sidecarPath, contents: Data(line.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw UpshiftError("cannot write \(sidecarPath)")
        }
    }

    public static func readSidecar(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path + ".sha256", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.map(String.init)
    }
}
