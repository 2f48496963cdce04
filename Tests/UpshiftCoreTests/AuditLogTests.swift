import Foundation
import Synchronization
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

struct AuditLogTests {
    private func project(_ name: String = #function) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-audit-\(name.filter(\.isLetter))-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A clock that advances 1.5 ms per call from a fixed instant.
    private static func fakeClock() -> @Sendable () -> Date {
        let ticks = Mutex(0)
        return {
            let n = ticks.withLock { value -> Int in
                value += 1
                return value
            }
            return Date(timeIntervalSince1970: 1_795_000_000 + Double(n) * 0.0015)
        }
    }

    private func writeSampleRuns(_ log: AuditLog) throws {
        try log.append(run: "20261128-120000-aaaa", event: AuditEvent.runStarted, stringDetails: ["command": "pg-upgrade --to 18"], sync: true)
        try log.append(run: "20261128-120000-aaaa", event: AuditEvent.stepStarted, details: ["step": "dump", "index": 1])
        try log.append(run: "20261128-120000-aaaa", event: AuditEvent.runFinished, stringDetails: ["outcome": "succeeded"], sync: true)
        try log.append(run: "20261128-130000-bbbb", event: AuditEvent.runStarted, stringDetails: ["command": "update --to 1.1.0"])
        try log.append(run: "20261128-130000-bbbb", event: AuditEvent.stepFailed, details: ["error": "boom", "nested": ["argv": ["docker", "compose"]]])
    }

    @Test func writesHashChainedLinesWithModes() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(projectDirectory: dir, now: Self.fakeClock())
        try writeSampleRuns(log)
        let path = AuditLog.path(projectDirectory: dir)
        let fileMode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir + "/.upshift")[.posixPermissions] as? Int
        #expect(fileMode == 0o600)
        #expect(dirMode == 0o700)

        let data = try #require(FileManager.default.contents(atPath: path))
        let lines = data.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 5)
        #expect(data.last == UInt8(ascii: "\n"))
        let first = String(decoding: lines[0], as: UTF8.self)
        #expect(first == #"{"details":{"command":"pg-upgrade --to 18"},"event":"run.started","prev":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","run":"20261128-120000-aaaa","seq":1,"ts":"2026-11-18T11:06:40.001Z","v":1}"#)
        let second = try JSONDecoder().decode(AuditRecord.self, from: lines[1])
        #expect(second.prev == SHA256.hex(of: lines[0]))
        #expect(second.seq == 2)
        #expect(second.ts == "2026-11-18T11:06:40.003Z")

        let trail = try AuditTrail.read(projectDirectory: dir)
        #expect(trail.chain == .intact(records: 5))
        #expect(trail.records(run: "20261128-130000-bbbb").map(\.seq) == [1, 2])
        #expect(trail.runs == [
            .init(run: "20261128-120000-aaaa", command: "pg-upgrade --to 18", start: "2026-11-18T11:06:40.001Z", end: "2026-11-18T11:06:40.004Z", outcome: "succeeded", records: 3),
            .init(run: "20261128-130000-bbbb", command: "update --to 1.1.0", start: "2026-11-18T11:06:40.006Z", end: "2026-11-18T11:06:40.007Z", outcome: "incomplete", records: 2),
        ])
        #expect(AuditTrail.lastRuns(projectDirectory: dir)?.map(\.runID) == ["20261128-130000-bbbb", "20261128-120000-aaaa"])
    }

    @Test func aSecondWriterContinuesTheChainAndTheSequence() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeSampleRuns(try AuditLog(projectDirectory: dir))
        let again = try AuditLog(projectDirectory: dir)  // a new process, say `upshift rollback`
        let record = try again.append(run: "20261128-130000-bbbb", event: AuditEvent.runFinished, stringDetails: ["outcome": "failed-rolled-back"])
        #expect(record.seq == 3)
        let trail = try AuditTrail.read(projectDirectory: dir)
        #expect(trail.chain.isIntact)
        #expect(trail.runs.last?.outcome == "failed-rolled-back")
    }

    @Test func concurrentAppendsKeepOneChain() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try AuditLog(projectDirectory: dir)
        let b = try AuditLog(projectDirectory: dir)  // separate descriptors, as two processes would have
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask { _ = try? (i.isMultiple(of: 2) ? a : b).append(run: "r\(i % 4)", event: "e", details: ["i": .number(Double(i))]) }
            }
        }
        let trail = try AuditTrail.read(projectDirectory: dir)
        #expect(trail.records.count == 40)
        #expect(trail.chain == .intact(records: 40))
    }

    @Test func verificationCatchesAnEditedLine() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeSampleRuns(try AuditLog(projectDirectory: dir))
        let path = AuditLog.path(projectDirectory: dir)
        let original = try String(contentsOfFile: path, encoding: .utf8)

        // Change one value in line 3 and keep it valid JSON: line 4's prev no longer matches.
        let edited = original.replacingOccurrences(of: "\"outcome\":\"succeeded\"", with: "\"outcome\":\"failed\"")
        #expect(edited != original)
        try edited.write(toFile: path, atomically: false, encoding: .utf8)
        let trail = try AuditTrail.read(path: path)
        guard case .broken(let line, let reason) = trail.chain else {
            Issue.record("an edited line must break the chain")
            return
        }
        #expect(line == 4)
        #expect(reason.contains("line 3"))
        #expect(trail.records.count == 5)  // still readable

        // A deleted line breaks it too, and so does garbage.
        var lines = original.split(separator: "\n")
        lines.remove(at: 1)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try AuditTrail.read(path: path).chain == .broken(line: 2, reason: "prev does not match the SHA-256 of line 1"))
        try (original + "not json\n").write(toFile: path, atomically: false, encoding: .utf8)
        if case .broken(let line, _) = try AuditTrail.read(path: path).chain { #expect(line == 6) } else { Issue.record("garbage must break the chain") }
        try original.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try AuditTrail.read(path: path).chain.isIntact)
    }

    @Test func aLineCutShortByACrashIsFlaggedAndLaterRecordsStillParse() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeSampleRuns(try AuditLog(projectDirectory: dir))
        let path = AuditLog.path(projectDirectory: dir)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"details":{},"ev"#.utf8))
        try handle.close()
        try AuditLog(projectDirectory: dir).append(run: "after-crash", event: "run.started", stringDetails: ["command": "rollback"])
        let trail = try AuditTrail.read(path: path)
        #expect(trail.records.count == 6)
        #expect(trail.records.last?.run == "after-crash")
        #expect(trail.chain == .broken(line: 6, reason: "not an audit record (edited, or cut short by a crash)"))
    }

    @Test func secretsAreMaskedEverywhereBeforeWriting() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(projectDirectory: dir, redactor: Redactor(secrets: ["hunter2-db-pw"]))
        try log.append(run: "r1", event: "command.finished", details: [
            "argv": ["psql", "postgresql://u:hunter2-db-pw@db/x"],
            "stderr_tail": "FATAL: password hunter2-db-pw rejected",
            "env": ["hunter2-db-pw": "as a key"],
        ])
        log.addSecrets(["late-secret-value"])
        try log.append(run: "r1", event: "step.failed", stringDetails: ["error": "late-secret-value leaked?"])
        let text = try String(contentsOfFile: AuditLog.path(projectDirectory: dir), encoding: .utf8)
        #expect(!text.contains("hunter2-db-pw"))
        #expect(!text.contains("late-secret-value"))
        #expect(text.contains("postgresql://u:******@db/x"))
        #expect(text.contains("******"))
        #expect(try AuditTrail.read(projectDirectory: dir).chain.isIntact)
    }

    @Test func commandResultsAreAuditedWithoutSecrets() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let redactor = Redactor(secrets: ["pw-in-argv-123"])
        let command = Command("psql", ["-c", "ALTER ROLE x PASSWORD 'pw-in-argv-123'"], environment: ["PGPASSWORD": "env-only-secret"], workingDirectory: "/srv/app")
        let result = CommandResult(command: command, termination: .exited(2), standardError: Data("ERROR: pw-in-argv-123 rejected\n".utf8), duration: .milliseconds(1500))
        let details = result.auditDetails(redactor: redactor)
        #expect(details["exit"] == .number(2))
        #expect(details["seconds"] == .number(1.5))
        #expect(details["env_set"] == .array(["PGPASSWORD"]))
        #expect(details["stderr_tail"] == .string("ERROR: ****** rejected"))
        #expect(details["command"] == .string(#"cd /srv/app && psql -c 'ALTER ROLE x PASSWORD '\''******'\'''"#))
        let log = try AuditLog(projectDirectory: dir, redactor: redactor)
        try log.append(run: "r", event: AuditEvent.commandFinished, details: details)
        let text = try String(contentsOfFile: AuditLog.path(projectDirectory: dir), encoding: .utf8)
        #expect(!text.contains("pw-in-argv-123"))
        #expect(!text.contains("env-only-secret"))
    }

    @Test func missingLogIsAnEmptyIntactTrail() throws {
        let trail = try AuditTrail.read(path: "/nonexistent-\(UUID().uuidString)/audit.jsonl")
        #expect(trail.records.isEmpty)
        #expect(trail.chain.isIntact)
        #expect(AuditTimestamp.format(Date(timeIntervalSince1970: 0.9999)) == "1970-01-01T00:00:00.999Z")
    }
}
