import Foundation

/// Reads `<project>/.upshift/audit.jsonl` from outside upshift, the way the fault campaign picks its moment:
/// only records appended after `start()` count, so earlier runs of the same project never trigger a fault.
public final class FaultAuditWatcher: @unchecked Sendable {
    public let path: String
    private var offset: UInt64
    private var pending = Data()
    private var seen: [[String: Any]] = []
    private let lock = NSLock()

    /// Remembers the current end of the audit log of `projectDirectory`.
    public init(projectDirectory: String) {
        path = projectDirectory + "/.upshift/audit.jsonl"
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
        offset = size
    }

    /// Records appended since the last call (complete lines only).
    private func poll() -> [[String: Any]] {
        lock.withLock {
            guard let handle = FileHandle(forReadingAtPath: path) else { return seen }
            defer { try? handle.close() }
            try? handle.seek(toOffset: offset)
            let data = (try? handle.readToEnd()) ?? Data()
            offset += UInt64(data.count)
            pending.append(data)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                if let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] { seen.append(object) }
            }
            return seen
        }
    }

    /// Every record seen so far (after `init`), in order.
    public var records: [[String: Any]] { poll() }

    /// Polls (every 20 ms) until a record matches; returns it. Fails after `timeout`, or at once when the run
    /// finished without ever matching (the fault point was never reached).
    @discardableResult
    public func waitFor(_ what: String, timeout: Duration = .seconds(300), _ matches: @escaping @Sendable (FaultAuditRecord) -> Bool) async throws -> FaultAuditRecord {
        try await E2EPoll.value("audit record: \(what)", timeout: timeout, interval: .milliseconds(20)) {
            let records = self.poll().map(FaultAuditRecord.init)
            if let hit = records.first(where: matches) { return hit }
            if let end = records.first(where: { $0.event == "run.finished" }) {
                throw E2EFailure("the run finished (\(end.detail("outcome") ?? "?")) before \(what)")
            }
            return nil
        }
    }

    /// Waits for `step.started` of step `id`.
    @discardableResult
    public func waitForStepStart(_ id: String, timeout: Duration = .seconds(300)) async throws -> FaultAuditRecord {
        try await waitFor("step.started \(id)", timeout: timeout) { $0.event == "step.started" && $0.detail("step") == id }
    }

    /// Waits for a `step.progress` of step `id` whose message starts with `prefix`.
    @discardableResult
    public func waitForProgress(_ id: String, prefix: String, timeout: Duration = .seconds(300)) async throws -> FaultAuditRecord {
        try await waitFor("step.progress \(id) \"\(prefix)…\"", timeout: timeout) {
            $0.event == "step.progress" && $0.detail("step") == id && ($0.detail("message") ?? "").hasPrefix(prefix)
        }
    }
}

/// One audit record as the campaign needs it (event, run, string details).
public struct FaultAuditRecord: Sendable {
    public var event: String
    public var run: String
    public var details: [String: String]

    init(_ object: [String: Any]) {
        event = object["event"] as? String ?? ""
        run = object["run"] as? String ?? ""
        var details: [String: String] = [:]
        for (key, value) in object["details"] as? [String: Any] ?? [:] {
            if let text = value as? String { details[key] = text } else if let number = value as? NSNumber { details[key] = number.stringValue }
        }
        self.details = details
    }

    public func detail(_ key: String) -> String? { details[key] }
}
