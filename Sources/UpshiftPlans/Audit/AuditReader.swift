import Foundation
import UpshiftSupport

/// Reads an audit log back: every record, the verdict on its hash chain, and per-run summaries.
///
/// Reading never stops at a broken line: the records that parse are still returned (a user investigating
/// an incident needs them most), and `chain` says where the evidence of tampering or damage starts.
public struct AuditTrail: Sendable {
    /// The verdict on the hash chain.
    public enum Chain: Sendable, Hashable, CustomStringConvertible {
        /// Every line parses and links to the one before it.
        case intact(records: Int)
        /// `line` (1-based) is the first line that does not parse or whose `prev` does not match.
        case broken(line: Int, reason: String)

        public var isIntact: Bool {
            if case .intact = self { return true }
            return false
        }

        public var description: String {
            switch self {
            case .intact(let n): return "hash chain intact (\(n) records)"
            case .broken(let line, let reason): return "hash chain broken at line \(line): \(reason)"
            }
        }
    }

    /// One run as the audit log tells it.
    public struct RunSummary: Sendable, Hashable, Codable {
        public var run: String
        /// From `run.started`'s `command` detail; nil when the start record is missing.
        public var command: String?
        public var start: String
        /// Timestamp of `run.finished`, or of the last record when the run never finished.
        public var end: String
        /// From `run.finished`'s `outcome` detail; `incomplete` when the run has no `run.finished`
        /// (still running, or killed).
        public var outcome: String
        public var records: Int
    }

    public var records: [AuditRecord]
    public var chain: Chain

    /// Reads `path`; a missing file is an empty, intact trail.
    public static func read(path: String) throws -> AuditTrail {
        guard FileManager.default.fileExists(atPath: path) else { return AuditTrail(records: [], chain: .intact(records: 0)) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UpshiftError("cannot read audit log \(path)")
        }
        return parse(data)
    }

    public static func read(projectDirectory: String) throws -> AuditTrail {
        try read(path: AuditLog.path(projectDirectory: projectDirectory))
    }

    /// Parses the bytes of an audit log.
    public static func parse(_ data: Data) -> AuditTrail {
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let decoder = JSONDecoder()
        var records: [AuditRecord] = []
        var chain: Chain?
        var previousHash = SHA256.hex(of: Data())
        var lastSeq: [String: Int] = [:]
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            defer { previousHash = SHA256.hex(of: line) }
            guard let record = try? decoder.decode(AuditRecord.self, from: line) else {
                if chain == nil { chain = .broken(line: lineNumber, reason: line.isEmpty ? "empty line" : "not an audit record (edited, or cut short by a crash)") }
                continue
            }
            records.append(record)
            guard chain == nil else { continue }
            if record.prev != previousHash {
                chain = .broken(line: lineNumber, reason: "prev does not match the SHA-256 of line \(lineNumber - 1)" + (lineNumber == 1 ? " (expected the hash of the empty string)" : ""))
            } else if record.v > AuditRecord.schemaVersion {
                chain = .broken(line: lineNumber, reason: "unknown record version \(record.v)")
            } else if record.seq != (lastSeq[record.run] ?? 0) + 1 {
                chain = .broken(line: lineNumber, reason: "run \(record.run): seq \(record.seq) follows \(lastSeq[record.run] ?? 0)")
            }
            lastSeq[record.run] = record.seq
        }
        return AuditTrail(records: records, chain: chain ?? .intact(records: records.count))
    }

    /// The records of one run, in order.
    public func records(run: String) -> [AuditRecord] {
        records.filter { $0.run == run }
    }

    /// Every run, in order of first appearance.
    public var runs: [RunSummary] {
        var order: [String] = []
        var byRun: [String: [AuditRecord]] = [:]
        for record in records {
            if byRun[record.run] == nil { order.append(record.run) }
            byRun[record.run, default: []].append(record)
        }
        return order.map { run in
            let items = byRun[run]!
            let started = items.first { $0.event == AuditEvent.runStarted }
            let finished = items.last { $0.event == AuditEvent.runFinished }
            return RunSummary(
                run: run,
                command: started?.detail("command"),
                start: (started ?? items[0]).ts,
                end: (finished ?? items[items.count - 1]).ts,
                outcome: finished?.detail("outcome") ?? "incomplete",
                records: items.count
            )
        }
    }
}
