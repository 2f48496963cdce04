import Foundation
import UpshiftCompose
import UpshiftSupport

/// Runs InvenTree's invoke tasks the way the documentation does it for docker, but unattended and exactly:
/// `docker compose run --rm -T [--no-deps] <server> invoke <task> --long-flags`, from the project's own
/// compose files. No TTY (nothing may prompt), output captured for errors and the audit.
public struct InvenTreeTasks: Sendable {
    public var compose: ComposeOperations
    /// The InvenTree server service (`inventree-server`); its image and environment run the tasks.
    public var server: String
    /// `--no-deps`: do not start (or recreate) the database from `run`; used while upshift manages it.
    public var noDeps: Bool

    public init(compose: ComposeOperations, server: String, noDeps: Bool = false) {
        self.compose = compose
        self.server = server
        self.noDeps = noDeps
    }

    /// `run --rm -T [--no-deps] [--entrypoint E] <server> ARGS…`.
    public func runCommand(_ arguments: [String], entrypoint: String? = nil, timeout: Duration = .seconds(3600)) -> Command {
        var args = ["run", "--rm", "-T"]
        if noDeps { args.append("--no-deps") }
        if let entrypoint { args += ["--entrypoint", entrypoint] }
        return compose.cli.command(args + [server] + arguments, timeout: timeout)
    }

    /// The command line of `invoke ARGS` (for plans).
    public func invokeCommand(_ arguments: [String], timeout: Duration = .seconds(3600)) -> Command {
        runCommand(["invoke"] + arguments, timeout: timeout)
    }

    /// Runs `invoke ARGS`; throws with the task's last output lines when it exits non-zero.
    @discardableResult
    public func invoke(_ arguments: [String], timeout: Duration = .seconds(3600), onLine: (@Sendable (String) -> Void)? = nil) async throws -> CommandResult {
        var lineHandler: (@Sendable (OutputLine) -> Void)?
        if let onLine {
            lineHandler = { line in onLine(InvokeOutput.stripANSI(line.text)) }
        }
        let result = try await compose.runner.run(invokeCommand(arguments, timeout: timeout), stdout: .capture, onLine: lineHandler)
        guard result.termination.isSuccess else {
            let tail = InvokeOutput.tail(result.stdoutText + "\n" + result.stderrText, lines: 12)
            throw UpshiftError("`invoke \(arguments.joined(separator: " "))` failed (\(result.termination)):\n\(compose.redactor.redact(tail))")
        }
        return result
    }

    /// The version `invoke version` reports.
    public func version() async throws -> InvenTreeVersion {
        let result = try await invoke(["version"], timeout: .seconds(300))
        guard let version = InvenTreeVersion.fromVersionOutput(result.stdoutText) else {
            throw UpshiftError("`invoke version` in \(server) printed no InvenTree version:\n\(InvokeOutput.tail(result.stdoutText))")
        }
        return version
    }

    /// The major of a PostgreSQL client tool shipped in the app image (`pg_dump --version`).
    public func clientMajor(_ tool: String = "pg_dump") async throws -> Int {
        let result = try await compose.runner.run(runCommand(["--version"], entrypoint: tool, timeout: .seconds(300)))
        guard result.termination.isSuccess else {
            throw UpshiftError("cannot run \(tool) in the image of \(server): \(InvokeOutput.tail(result.stderrText, lines: 3))")
        }
        guard let major = Self.clientMajor(fromVersionLine: result.stdoutText) else {
            throw UpshiftError("cannot read the major version from `\(tool) --version`: \(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return major
    }

    /// `pg_dump (PostgreSQL) 15.18 (Debian …)` -> 15; `pg_dump (PostgreSQL) 9.6.24` -> 9.
    public static func clientMajor(fromVersionLine text: String) -> Int? {
        guard let range = text.range(of: "(PostgreSQL) ") else { return nil }
        let number = text[range.upperBound...].prefix { $0.isNumber }
        return Int(number)
    }

    // MARK: - Backup directory

    /// Entries of `$INVENTREE_BACKUP_DIR` inside the app image (empty when it does not exist yet).
    public func listBackupDirectory() async throws -> (directory: String, names: [String]) {
        let script = #"d="${INVENTREE_BACKUP_DIR:-/home/inventree/data/backup}"; echo "$d"; [ -d "$d" ] || exit 0; cd "$d" && ls -1A"#
        let result = try await compose.runner.run(runCommand(["-c", script], entrypoint: "sh", timeout: .seconds(300)))
        try result.check(redactor: compose.redactor)
        var lines = result.stdoutText.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { throw UpshiftError("cannot list the InvenTree backup directory in \(server)") }
        let directory = lines.removeFirst()
        return (directory, lines.sorted())
    }

    /// `size sha256 name` per file argument, run by `sh -c` in the app image (names are arguments, never code).
    static let describeScript = #"cd "${INVENTREE_BACKUP_DIR:-/home/inventree/data/backup}" && for f in "$@"; do printf '%s %s ' "$(stat -c %s -- "$f")" "$(sha256sum -- "$f" | cut -d' ' -f1)"; printf '%s\n' "$f"; done"#

    /// SHA-256 and size of files in the backup directory, computed inside the app image.
    public func describeBackupFiles(_ names: [String]) async throws -> [InvenTreeBackupRecord.File] {
        guard !names.isEmpty else { return [] }
        let result = try await compose.runner.run(runCommand(["-c", Self.describeScript, "sh"] + names, entrypoint: "sh", timeout: .seconds(3600)))
        try result.check(redactor: compose.redactor)
        var files: [InvenTreeBackupRecord.File] = []
        for line in result.stdoutText.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let size = Int64(parts[0]), parts[1].count == 64 else { continue }
            files.append(InvenTreeBackupRecord.File(name: String(parts[2]), bytes: size, sha256: String(parts[1])))
        }
        guard files.count == names.count else {
            throw UpshiftError("cannot read the new backup files \(names.joined(separator: ", ")) in \(server): \(InvokeOutput.tail(result.stdoutText + result.stderrText, lines: 4))")
        }
        return files
    }

    /// `invoke backup`, with the exact files it wrote found by listing the backup directory before and
    /// after (not by trusting "the newest file": any later backup would win that).
    public func backup(flags: InvokeFlags, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> InvenTreeBackupRecord {
        let before = try await listBackupDirectory()
        try await invoke(flags.backupArguments, onLine: { line in
            if line.hasPrefix("Writing file to") || line.contains("Backing up") { progress(line.trimmingCharacters(in: .whitespaces)) }
        })
        let after = try await listBackupDirectory()
        let new = Set(after.names).subtracting(before.names).sorted()
        var record = try InvenTreeBackupRecord.classify(new, directory: after.directory, version: flags.version)
        record.files = try await describeBackupFiles(new)
        return record
    }
}

extension InvenTreeTasks {
    /// The host path of an in-container directory of `service`, when it lies on a bind mount.
    public static func hostPath(of containerPath: String, service: ComposeService?) -> String? {
        guard let service else { return nil }
        for volume in service.volumes.sorted(by: { $0.target.count > $1.target.count }) where volume.type == .bind {
            guard let source = volume.source else { continue }
            let target = volume.target.hasSuffix("/") ? String(volume.target.dropLast()) : volume.target
            if containerPath == target { return source }
            if containerPath.hasPrefix(target + "/") { return source + containerPath.dropFirst(target.count) }
        }
        return nil
    }
}
