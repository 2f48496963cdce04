import Foundation
import Synchronization
import Testing
import UpshiftPlans
import UpshiftSupport
@testable import UpshiftCommands

/// `--progress`: what each style prints for a long run. A synthetic run of 300 "checksum" lines goes
/// through the reporter with a clock the test moves, so ten minutes take no time.
struct RunReporterTests {
    /// What the reporter wrote, and the time it sees.
    final class Sink: Sendable {
        let output = Mutex<[String]>([])
        let now = Mutex<Duration>(.zero)
    }

    /// Collects what the reporter writes, and moves time.
    final class Harness: Sendable {
        let sink = Sink()
        let reporter: RunReporter

        init(_ style: ProgressStyle, width: Int = 80) {
            let sink = sink
            reporter = RunReporter(
                style: style, runID: RunID("20261201-090000-a1b2"),
                clock: RunReporter.Clock(elapsed: { sink.now.withLock { $0 } }, date: { Date(timeIntervalSince1970: 1_800_000_000) }),
                width: width, ticking: false, write: { text in sink.output.withLock { $0.append(text) } })
        }

        func advance(_ duration: Duration) {
            sink.now.withLock { $0 += duration }
            reporter.tick()
        }

        var text: String { sink.output.withLock { $0.joined() } }
        /// Lines as a log file would hold them (a redraw without a newline stays on its line).
        var lines: [String] { text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    static func step(_ id: String, _ title: String) -> PlannedStep {
        PlannedStep(id: id, title: title, kind: StepKind("test.\(id)"), mutates: false)
    }

    /// A pg-upgrade-shaped run: a few quick steps, two fingerprints of 300 tables (`perTable` each), a dump
    /// reporting bytes every 5 s for two minutes, a restore printing a line per table.
    static func syntheticRun(_ h: Harness, tables: Int = 300, perTable: Duration = .milliseconds(50)) {
        let handler = h.reporter.handler
        let steps = [step("snapshot", "Snapshot compose files"), step("stop-app", "Stop the application"),
                     step("fingerprint-old", "Fingerprint the PostgreSQL 15 cluster"), step("dump", "Dump the PostgreSQL 15 cluster"),
                     step("restore", "Restore the dump"), step("verify", "Verify: fingerprint the new cluster"), step("start-stack", "Start the stack")]
        handler(.runStarted(runID: RunID("20261201-090000-a1b2")!, stepCount: steps.count))
        for (index, planned) in steps.enumerated() {
            handler(.stepStarted(step: planned, index: index, count: steps.count))
            switch planned.id {
            case "fingerprint-old", "verify":
                for t in 1...tables {
                    h.advance(perTable)
                    handler(.stepProgress(stepID: planned.id, message: "checksum app.public.t\(t)", measure: ProgressMeasure(done: Int64(t), total: Int64(tables), unit: .items)))
                }
            case "dump":
                handler(.stepProgress(stepID: "dump", message: "pg_dump → db-1.sql"))
                for tick in 1...24 {
                    h.advance(.seconds(5))
                    handler(.stepProgress(stepID: "dump", message: "pg_dump → db-1.sql", measure: ProgressMeasure(done: Int64(tick) * 10_000_000, total: 300_000_000, unit: .bytes)))
                }
                handler(.stepProgress(stepID: "dump", message: "pg_dumpall → globals.sql"))
            case "restore":
                for table in 1...tables { handler(.stepProgress(stepID: "restore", message: "restoring table t\(table)")) }
                handler(.stepProgress(stepID: "restore", message: "Restoring: app.sql finished"))
            default:
                h.advance(.milliseconds(100))
            }
            handler(.stepFinished(step: planned, outcome: StepOutcome(summary: "done \(planned.id)"), duration: .seconds(1)))
        }
        handler(.runFinished(RunOutcome(status: .succeeded, rollback: .notNeeded)))
    }

    @Test func plainModeFitsInFortyLines() {
        let h = Harness(.plain)
        Self.syntheticRun(h)
        let lines = h.lines
        print("plain: \(lines.count) lines\n" + lines.joined(separator: "\n"))
        #expect(lines.count <= 40, "\(lines.count) lines")
        #expect(!h.text.contains("\u{1B}") && !h.text.contains("\r"))
        // Every step ends with its line, the E2E tests' texts among them; the last word of a step is kept.
        for id in ["snapshot", "stop-app", "fingerprint-old", "dump", "restore", "verify", "start-stack"] {
            #expect(lines.contains { $0.contains("ok  \(id) (1.0s): done \(id)") }, "\(id)")
        }
        #expect(h.text.contains("Restoring: app.sql finished"))
        #expect(h.text.contains("pg_dumpall → globals.sql"))
        // A 15 s fingerprint shows where it was once, with its count.
        let checksums = lines.filter { $0.contains("checksum app.public.t") }
        #expect(checksums.count >= 1 && checksums.count <= 4, "\(checksums)")
        #expect(checksums.allSatisfy { $0.contains("/300)") })
        // The dump's bytes against the estimate, with an ETA.
        #expect(lines.contains { $0.contains("pg_dump → db-1.sql: ") && $0.contains("of ~286.1 MiB") && $0.contains("ETA") }, "\(lines)")
        #expect(h.text.contains("progress lines not shown: upshift log --run 20261201-090000-a1b2"))
    }

    @Test func plainModeShowsAtMostOneProgressLinePerTenSeconds() {
        let h = Harness(.plain)
        Self.syntheticRun(h, perTable: .milliseconds(200))   // each fingerprint runs a minute
        let lines = h.lines
        print("plain, one-minute fingerprints: \(lines.count) lines")
        let checksums = lines.filter { $0.contains("checksum app.public.t") }
        #expect(checksums.count <= 2 * 6, "\(checksums)")
        #expect(lines.count <= 50)
    }

    @Test func ttyModeRedrawsOneLine() {
        let h = Harness(.tty, width: 160)
        Self.syntheticRun(h)
        let text = h.text
        let redraws = text.components(separatedBy: "\r\u{1B}[2K").count - 1
        let lines = h.lines
        print("tty: \(lines.count) lines, \(redraws) redraws")
        #expect(redraws > 50, "\(redraws) redraws")
        // Permanent lines: the run, one per finished step, the end; no line per table.
        #expect(lines.count <= 12, "\(lines)")
        #expect(text.contains("[3/7] ok  fingerprint-old (1.0s): done fingerprint-old"))
        #expect(text.contains("[3/7] Fingerprint the PostgreSQL 15 cluster · 15s · checksum app.public.t300 (300/300)"))
        #expect(text.contains("pg_dump → db-1.sql: 114.4 MiB of ~286.1 MiB (40%), ETA"))
        #expect(!text.hasSuffix("\u{1B}[2K") || text.hasSuffix("\r\u{1B}[2K"))

        // On a narrow terminal every redrawn line fits.
        let narrow = Harness(.tty, width: 60)
        Self.syntheticRun(narrow)
        for piece in narrow.text.components(separatedBy: "\r\u{1B}[2K").dropFirst() {
            let drawn = piece.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if !piece.contains("\n") { #expect(drawn.count <= 59, "\(drawn)") }
        }
    }

    @Test func plainModeShowsAnUndosLastWord() {
        let h = Harness(.plain)
        let handler = h.reporter.handler
        handler(.rollbackStarted(stepIDs: ["isolate-db"]))
        handler(.compensating(stepID: "isolate-db", description: "start db on the old data, verify its fingerprint", partial: false))
        for message in ["starting db on the old data to verify it", "initialising", "restoring app", "restoring globals", "old fingerprint verified: identical"] {
            handler(.stepProgress(stepID: "rollback", message: message))
        }
        handler(.compensated(stepID: "isolate-db"))
        handler(.rollbackFinished(RollbackReport(compensated: ["isolate-db"])))
        #expect(h.text.contains("old fingerprint verified: identical"))
        #expect(h.text.contains("rollback complete"))
        #expect(!h.text.contains("restoring app"))
    }

    @Test func autoFollowsTheTerminalAndNoColor() {
        #expect(ProgressMode.auto.style(stderrIsTerminal: true, environment: [:]) == .tty)
        #expect(ProgressMode.auto.style(stderrIsTerminal: false, environment: [:]) == .plain)
        #expect(ProgressMode.auto.style(stderrIsTerminal: true, environment: ["NO_COLOR": "1"]) == .plain)
        #expect(ProgressMode.auto.style(stderrIsTerminal: true, environment: ["TERM": "dumb"]) == .plain)
        #expect(ProgressMode.tty.style(stderrIsTerminal: false, environment: [:]) == .tty)
        #expect(ProgressMode.json.style(stderrIsTerminal: true, environment: [:]) == .json)
    }

    // MARK: - JSON

    static func schema() throws -> JSONValue {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/progress-events.schema.json").path
        let data = try #require(FileManager.default.contents(atPath: path))
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Every kind of event, once.
    static func everyEvent() -> [ExecutionEvent] {
        let planned = step("dump", "Dump the cluster")
        return [
            .runStarted(runID: RunID("20261201-090000-a1b2")!, stepCount: 3),
            .stepStarted(step: planned, index: 0, count: 3),
            .stepProgress(stepID: "dump", message: "pg_dump → db-1.sql"),
            .stepProgress(stepID: "dump", message: "pg_dump → db-1.sql", measure: ProgressMeasure(done: 10, total: 100, unit: .bytes)),
            .stepProgress(stepID: "dump", message: "checksum app.t1", measure: ProgressMeasure(done: 1, total: nil, unit: .items)),
            .stepFinished(step: planned, outcome: StepOutcome(summary: "1 database"), duration: .seconds(2)),
            .stepFailed(step: planned, error: "pg_dump failed", duration: .seconds(1)),
            .pointOfNoReturn(stepID: "upgrade"),
            .decided(stepID: "check-snapshot", branch: "snapshot", reason: "nothing committed", steps: [planned]),
            .oldClusterUnusable(stepID: "upgrade", message: "pg_upgrade --link"),
            .interrupted(beforeStepID: "dump"),
            .interrupted(beforeStepID: nil),
            .rollbackStarted(stepIDs: ["dump", "snapshot"]),
            .compensating(stepID: "dump", description: "remove the dump", partial: true),
            .compensated(stepID: "dump"),
            .compensationFailed(stepID: "dump", description: "remove the dump", error: "busy"),
            .rollbackFinished(RollbackReport(compensated: ["dump"], remaining: ["snapshot"])),
            .runFinished(RunOutcome(status: .failed, rollback: .complete, failedStep: "dump", error: "pg_dump failed")),
            .runFinished(RunOutcome(status: .succeeded, rollback: .notNeeded)),
        ]
    }

    @Test func jsonLinesMatchTheSchema() throws {
        let schema = try Self.schema()
        let h = Harness(.json)
        h.reporter.emit("preflight: checking app")
        h.reporter.plan("Plan …", stepCount: 3, path: "/p/.upshift/runs/x/plan.json", confirming: false)
        for event in Self.everyEvent() { h.reporter.handler(event) }
        h.reporter.summary("\nPostgreSQL 15 -> 18 done.\n")
        let lines = h.lines
        var seen: Set<String> = []
        for line in lines {
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            let problems = SchemaSubset.validate(value, against: schema)
            #expect(problems.isEmpty, "\(line): \(problems)")
            if case .object(let fields) = value, case .string(let name)? = fields["event"] { seen.insert(name) }
        }
        // Every event name the schema lists is produced, and nothing else.
        guard case .object(let root) = schema, case .object(let properties)? = root["properties"],
              case .object(let event)? = properties["event"], case .array(let names)? = event["enum"] else { Issue.record("schema has no event enum"); return }
        #expect(Set(names.compactMap { if case .string(let s) = $0 { s } else { nil } }) == seen)
        // The same fields as the audit record: a progress line with a measure keeps the message beside it.
        #expect(lines.contains { $0.contains("\"done\":10") && $0.contains("\"message\":\"pg_dump → db-1.sql\"") && $0.contains("\"total\":100") && $0.contains("\"unit\":\"bytes\"") })
        #expect(lines.allSatisfy { $0.contains("\"run\":\"20261201-090000-a1b2\"") && $0.contains("\"time\":\"") })
    }

    @Test func jsonWritesOneLinePerEvent() throws {
        let schema = try Self.schema()
        let h = Harness(.json)
        Self.syntheticRun(h)
        let lines = h.lines
        print("json: \(lines.count) lines")
        // 16 run and step boundaries, 927 progress events: one object each, none held back.
        #expect(lines.count == 16 + 927)
        for line in lines {
            #expect(SchemaSubset.validate(try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)), against: schema).isEmpty, "\(line)")
        }
    }

    @Test func theValidatorRejectsWhatTheSchemaForbids() throws {
        let schema = try Self.schema()
        func problems(_ json: String) throws -> [String] {
            SchemaSubset.validate(try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)), against: schema)
        }
        #expect(try problems(#"{"event":"step.progress","run":"r","time":"t","step":"dump","message":"m"}"#).isEmpty)
        #expect(!(try problems(#"{"event":"step.progress","run":"r","time":"t","step":"dump"}"#)).isEmpty)       // no message
        #expect(!(try problems(#"{"event":"step.exploded","run":"r","time":"t"}"#)).isEmpty)                     // unknown event
        #expect(!(try problems(#"{"event":"note","run":"r","time":1,"message":"m"}"#)).isEmpty)                  // time not a string
        #expect(!(try problems(#"{"event":"note","run":"r","time":"t","message":"m","extra":true}"#)).isEmpty)  // unlisted field
        #expect(!(try problems(#"{"event":"step.progress","run":"r","time":"t","step":"d","message":"m","unit":"furlongs"}"#)).isEmpty)
    }
}

/// The part of JSON Schema that `docs/progress-events.schema.json` uses: `type` (one or a list),
/// `enum`, `const`, `required`, `properties`, `additionalProperties: false`, `items`, `allOf` and
/// `if`/`then`. Returns what does not match; empty when the value is valid.
enum SchemaSubset {
    static func validate(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        guard case .object(let rules) = schema else { return [] }
        var problems: [String] = []
        if let type = rules["type"] {
            let allowed: [String]
            switch type {
            case .string(let one): allowed = [one]
            case .array(let many): allowed = many.compactMap { if case .string(let s) = $0 { s } else { nil } }
            default: allowed = []
            }
            if !allowed.contains(typeName(value)) { problems.append("\(path): \(typeName(value)), not \(allowed.joined(separator: "|"))") }
        }
        if case .array(let options)? = rules["enum"], !options.contains(value) { problems.append("\(path): not one of the enum") }
        if let constant = rules["const"], constant != value { problems.append("\(path): not the constant") }
        if case .object(let fields) = value {
            if case .array(let required)? = rules["required"] {
                for case .string(let name) in required where fields[name] == nil { problems.append("\(path): missing \(name)") }
            }
            let properties: [String: JSONValue]
            if case .object(let p)? = rules["properties"] { properties = p } else { properties = [:] }
            for (name, field) in fields {
                if let rule = properties[name] {
                    problems += validate(field, against: rule, at: "\(path).\(name)")
                } else if rules["additionalProperties"] == .bool(false) {
                    problems.append("\(path): unexpected field \(name)")
                }
            }
        }
        if case .array(let items) = value, let rule = rules["items"] {
            for (index, item) in items.enumerated() { problems += validate(item, against: rule, at: "\(path)[\(index)]") }
        }
        if case .array(let all)? = rules["allOf"] {
            for rule in all { problems += validate(value, against: rule, at: path) }
        }
        if let condition = rules["if"], validate(value, against: condition, at: path).isEmpty, let then = rules["then"] {
            problems += validate(value, against: then, at: path)
        }
        return problems
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
