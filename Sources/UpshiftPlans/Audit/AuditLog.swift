import Foundation
import Synchronization
import UpshiftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends hash-chained, redacted records to `<project>/.upshift/audit.jsonl`.
///
/// - the directory is created 0700 and the file 0600 (it names paths, images and commands of a deployment);
/// - each record is one `write(2)` of one line on an `O_APPEND` descriptor, under an exclusive `flock`
///   so two upshift processes (or `upshift log` racing a run) never interleave or fork the chain;
/// - the previous line is re-read under the lock to compute `prev`, so the chain holds across processes;
/// - every string (details, event, run, keys) passes through the `Redactor` before encoding;
/// - `sync()` (or `append(..., sync: true)`) fsyncs: the executor calls it at step boundaries, so a crash
///   loses at most the records of the step in flight.
public final class AuditLog: Sendable {
    public let path: String
    private let fd: Int32
    private let now: @Sendable () -> Date
    private let state: Mutex<State>

    private struct State {
        var redactor: Redactor
        var seqByRun: [String: Int] = [:]
    }

    /// `<projectDirectory>/.upshift/audit.jsonl`.
    public static func path(projectDirectory: String) -> String {
        (projectDirectory as NSString).appendingPathComponent(".upshift/audit.jsonl")
    }

    /// Opens (creating as needed) the audit log of a project.
    public convenience init(projectDirectory: String, redactor: Redactor = Redactor(), now: @escaping @Sendable () -> Date = { Date() }) throws {
        try self.init(path: AuditLog.path(projectDirectory: projectDirectory), redactor: redactor, now: now)
    }

    /// Opens (creating as needed) the log at `path`; a missing parent directory is created with mode 0700.
    public init(path: String, redactor: Redactor = Redactor(), now: @escaping @Sendable () -> Date = { Date() }) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(directory, 0o700)  // not subject to umask
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw UpshiftError("cannot open audit log \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
        self.path = path
        self.fd = fd
        self.now = now
        self.state = Mutex(State(redactor: redactor))
    }

    deinit {
        close(fd)
    }

    /// Adds secrets learned during a run (a password read from compose): later records mask them too.
    public func addSecrets(_ secrets: [String]) {
        state.withLock { $0.redactor = $0.redactor.adding(secrets) }
    }

    /// Appends one record and returns it as written (redacted). `sync: true` fsyncs before returning.
    @discardableResult
    public func append(run: String, event: String, details: [String: JSONValue] = [:], sync: Bool = false) throws -> AuditRecord {
        try state.withLock { state in
            guard flock(fd, LOCK_EX) == 0 else {
                throw UpshiftError("cannot lock audit log \(path): \(String(cString: strerror(errno)))")
            }
            defer { flock(fd, LOCK_UN) }
            let redactor = state.redactor
            let runID = redactor.redact(run)
            let lastLine = try AuditLog.lastLine(ofFileAt: path)
            let seq = try (state.seqByRun[runID] ?? AuditLog.lastSeq(ofRun: runID, path: path)) + 1
            let fields = JSONValue.object(details).redacted(redactor)
            guard case .object(let cleanDetails) = fields else { preconditionFailure() }
            let record = AuditRecord(
                ts: AuditTimestamp.format(now()),
                run: runID,
                seq: seq,
                event: redactor.redact(event),
                details: cleanDetails,
                prev: SHA256.hex(of: lastLine ?? Data())
            )
            var line = try AuditLog.encoder().encode(record)
            // A line cut short by a crash gets its own line; the chain then flags it, but later records stay parseable.
            let needsNewline = try AuditLog.endsWithoutNewline(path: path)
            if needsNewline { line.insert(UInt8(ascii: "\n"), at: 0) }
            line.append(UInt8(ascii: "\n"))
            try AuditLog.writeAll(fd: fd, line, path: path)
            if sync { try AuditLog.fsync(fd, path: path) }
            state.seqByRun[runID] = seq
            return record
        }
    }

    /// Convenience for string-only details.
    @discardableResult
    public func append(run: String, event: String, stringDetails: [String: String], sync: Bool = false) throws -> AuditRecord {
        try append(run: run, event: event, details: stringDetails.mapValues { .string($0) }, sync: sync)
    }

    /// Flushes appended records to stable storage.
    public func sync() throws {
        try AuditLog.fsync(fd, path: path)
    }

    // MARK: - File helpers

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func fsync(_ fd: Int32, path: String) throws {
        #if canImport(Glibc)
        let rc = Glibc.fsync(fd)
        #else
        let rc = Darwin.fsync(fd)
        #endif
        guard rc == 0 else { throw UpshiftError("cannot fsync audit log \(path): \(String(cString: strerror(errno)))") }
    }

    static func writeAll(fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress!.advanced(by: offset), raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw UpshiftError("cannot write audit log \(path): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    static func endsWithoutNewline(path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        guard size > 0 else { return false }
        try handle.seek(toOffset: size - 1)
        return try handle.read(upToCount: 1) != Data([UInt8(ascii: "\n")])
    }

    /// The bytes of the last complete or partial line (without the newline), nil for an empty file.
    static func lastLine(ofFileAt path: String) throws -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        guard size > 0 else { return nil }
        var end = size
        // Ignore the final newline.
        try handle.seek(toOffset: size - 1)
        if try handle.read(upToCount: 1) == Data([UInt8(ascii: "\n")]) { end = size - 1 }
        var chunk = 4096 as UInt64
        while true {
            let start = end > chunk ? end - chunk : 0
            try handle.seek(toOffset: start)
            let data = try handle.read(upToCount: Int(end - start)) ?? Data()
            if let newline = data.lastIndex(of: UInt8(ascii: "\n")) {
                return Data(data[(newline + 1)...])
            }
            if start == 0 { return data }
            chunk *= 2
        }
    }

    /// The highest `seq` of `run` in the file (0 when absent): a new process continues a run's numbering.
    static func lastSeq(ofRun run: String, path: String) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return 0 }
        let decoder = JSONDecoder()
        var last = 0
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let record = try? decoder.decode(AuditRecord.self, from: line), record.run == run else { continue }
            last = max(last, record.seq)
        }
        return last
    }
}
