import Foundation
import UpshiftSupport

/// One line of `<project>/.upshift/audit.jsonl`.
///
/// Encoded with sorted keys and unescaped slashes, one object per `\n`-terminated line. `prev` is the
/// SHA-256 (hex) of the previous line's bytes without its newline (of the empty string for the first
/// line), so editing, removing or reordering any line breaks the chain at the next one.
public struct AuditRecord: Sendable, Hashable, Codable {
    /// Schema version of this record layout.
    public static let schemaVersion = 1

    public var v: Int
    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-28T12:00:03.412Z`.
    public var ts: String
    /// The run id (`RunID.rawValue`), or a free-form id for events outside a run.
    public var run: String
    /// 1, 2, 3, ... within one run, without gaps.
    public var seq: Int
    /// Dotted event name: `run.started`, `step.succeeded`, `command.finished`, `run.finished`, ...
    public var event: String
    /// Event-specific data, already redacted.
    public var details: [String: JSONValue]
    public var prev: String

    public init(v: Int = AuditRecord.schemaVersion, ts: String, run: String, seq: Int, event: String, details: [String: JSONValue], prev: String) {
        self.v = v
        self.ts = ts
        self.run = run
        self.seq = seq
        self.event = event
        self.details = details
        self.prev = prev
    }

    /// A detail as a string (numbers and booleans rendered), or nil.
    public func detail(_ key: String) -> String? {
        switch details[key] {
        case .string(let s): return s
        case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .bool(let b): return String(b)
        default: return nil
        }
    }
}

/// Event names and detail keys the audit readers understand. Writers may add any other events.
public enum AuditEvent {
    /// Starts a run. Details: `command` (the upshift command line, redacted), optional `project`.
    public static let runStarted = "run.started"
    /// Ends a run. Details: `outcome` (`succeeded`, `failed-rolled-back`, `failed-rollback-incomplete`,
    /// `interrupted`, ...), optional `exit_code`, `message`.
    public static let runFinished = "run.finished"
    public static let stepStarted = "step.started"
    public static let stepSucceeded = "step.succeeded"
    public static let stepFailed = "step.failed"
    public static let commandStarted = "command.started"
    public static let commandFinished = "command.finished"
    public static let rollbackStarted = "rollback.started"
    public static let rollbackFinished = "rollback.finished"
}

extension JSONValue {
    /// The same tree with every string (keys included) passed through `redactor`.
    public func redacted(_ redactor: Redactor) -> JSONValue {
        switch self {
        case .string(let s): return .string(redactor.redact(s))
        case .array(let items): return .array(items.map { $0.redacted(redactor) })
        case .object(let fields):
            return .object(Dictionary(fields.map { (redactor.redact($0.key), $0.value.redacted(redactor)) }, uniquingKeysWith: { a, _ in a }))
        case .null, .bool, .number: return self
        }
    }
}

/// ISO-8601 UTC with milliseconds, formatted without a (non-Sendable) DateFormatter.
package enum AuditTimestamp {
    package static func format(_ date: Date) -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(totalMillis / 1000)
        let millis = Int(totalMillis % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
