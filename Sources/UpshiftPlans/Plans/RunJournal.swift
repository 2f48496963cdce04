import Foundation
import Synchronization
import UpshiftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only `journal.jsonl` of one run: one JSON object per line, each write followed by fsync,
/// file mode 0600.
///
/// A record is on disk before the code after `append` runs, so an `intent` is durable before its step
/// touches anything and `upshift rollback` can always see what may need undoing.
public final class RunJournal: Sendable {
    public let path: String
    private struct State: ~Copyable {
        var fd: Int32
        var seq: Int
    }
    private let state: Mutex<State>
    private let clock: @Sendable () -> Date

    private init(path: String, fd: Int32, lastSeq: Int, clock: @escaping @Sendable () -> Date) {
        self.path = path
        self.state = Mutex(State(fd: fd, seq: lastSeq))
        self.clock = clock
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 { DurableFile.closeDescriptor(state.fd) }
        }
    }

    /// Creates a new, empty journal; fails when one exists (a run id is used once).
    public static func create(at path: String, clock: @escaping @Sendable () -> Date = { Date() }) throws -> RunJournal {
        let fd = try DurableFile.openForAppend(path, exclusive: true)
        DurableFile.syncDirectory((path as NSString).deletingLastPathComponent)
        return RunJournal(path: path, fd: fd, lastSeq: 0, clock: clock)
    }

    /// Opens an existing journal to add records (rollback of an earlier run). A torn last line left by a
    /// crash is cut off first, so the next record starts on a line of its own; a last line that is
    /// complete but lost its newline is kept and terminated.
    public static func openForAppend(at path: String, clock: @escaping @Sendable () -> Date = { Date() }) throws -> RunJournal {
        let contents = try JournalReader.read(path: path)
        if let tail = contents.tornTail {
            if tail.decoded {
                let fd = try DurableFile.openForAppend(path)
                defer { DurableFile.closeDescriptor(fd) }
                try DurableFile.writeAll(fd, [UInt8(ascii: "\n")], path: path)
                try DurableFile.sync(fd, path: path)
            } else {
                guard truncate(path, off_t(tail.offset)) == 0 else { throw DurableFile.fail("truncate", path) }
            }
        }
        let fd = try DurableFile.openForAppend(path)
        return RunJournal(path: path, fd: fd, lastSeq: contents.records.last?.seq ?? 0, clock: clock)
    }

    /// Appends `record` (numbered and timestamped here) and fsyncs before returning.
    @discardableResult
    public func append(_ record: JournalRecord) throws -> JournalRecord {
        try state.withLock { state in
            guard state.fd >= 0 else { throw UpshiftError("journal \(path) is closed") }
            var record = record
            record.seq = state.seq + 1
            record.time = JournalRecord.timestamp(clock())
            var line = try PlanJSON.encoder(pretty: false).encode(record)
            line.append(UInt8(ascii: "\n"))
            // A short write (a full disk) must not leave a torn line for the next record to bury mid-file,
            // where every reader would refuse the journal: cut the file back to where this record began.
            let start = lseek(state.fd, 0, SEEK_END)
            do {
                try DurableFile.writeAll(state.fd, [UInt8](line), path: path)
                try DurableFile.sync(state.fd, path: path)
            } catch {
                if start >= 0 { _ = ftruncate(state.fd, start) }
                throw error
            }
            state.seq = record.seq
            return record
        }
    }

    public func close() {
        state.withLock { state in
            if state.fd >= 0 { DurableFile.closeDescriptor(state.fd) }
            state.fd = -1
        }
    }
}

/// Reads a journal as it is on disk, including one cut short by kill -9 or power loss.
public enum JournalReader {
    public struct TornTail: Sendable, Hashable {
        /// Byte offset where the unterminated last line starts.
        public var offset: Int
        /// Whether that partial line still decoded as a complete record (it is then included).
        public var decoded: Bool
    }

    public struct Contents: Sendable {
        public var records: [JournalRecord]
        /// Set when the file does not end with a newline.
        public var tornTail: TornTail?
    }

    public static func read(path: String) throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UpshiftError("cannot read the run journal \(path)", exitCode: .failedRollbackIncomplete)
        }
        return try parse(data, path: path)
    }

    /// Parses journal bytes. Only the last line may be damaged (appends are sequential, each fsynced); a
    /// damaged line before it means the file was edited or the disk is failing, and is refused.
    public static func parse(_ data: Data, path: String = "journal.jsonl") throws -> Contents {
        let bytes = [UInt8](data)
        let decoder = PlanJSON.decoder()
        var records: [JournalRecord] = []
        var torn: TornTail?
        var start = 0
        var lineNumber = 0
        while start < bytes.count {
            lineNumber += 1
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let end = newline ?? bytes.count
            let line = Data(bytes[start..<end])
            let isBlank = line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }
            if newline == nil {
                let record = isBlank ? nil : try? decoder.decode(JournalRecord.self, from: line)
                if let record { records.append(record) }
                torn = TornTail(offset: start, decoded: record != nil)
                break
            }
            if !isBlank {
                do {
                    records.append(try decoder.decode(JournalRecord.self, from: line))
                } catch {
                    throw UpshiftError(
                        "the run journal \(path) is damaged at line \(lineNumber)",
                        hint: "only the last line can be cut short by a crash; inspect the file before rolling back by hand",
                        exitCode: .failedRollbackIncomplete)
                }
            }
            start = end + 1
        }
        return Contents(records: records, tornTail: torn)
    }
}
