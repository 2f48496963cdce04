import Foundation
import Synchronization
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// How a run's progress is drawn on stderr (`--progress`), once `auto` is decided.
enum ProgressStyle: String, Sendable {
    /// For logs and pipes: a step's start line only when it has something to say or runs long, at most one
    /// progress line per 10 s, and its finish line. Every detail stays in the audit log.
    case plain
    /// For a person at a terminal: one line redrawn in place for the running step.
    case tty
    /// JSON Lines, one object per event, with the audit record's fields (`docs/progress-events.schema.json`).
    case json
}

/// Renders execution events for people (or, with `--progress json`, for programs) on stderr, so progress
/// never mixes with `--json` output on stdout. Also forwards every event to the audit sink, which keeps
/// every progress line whatever is shown here.
final class RunReporter: Sendable {
    /// Time as the reporter sees it; injectable so tests can drive a run of any length instantly.
    struct Clock: Sendable {
        /// Monotonic time since some fixed start.
        var elapsed: @Sendable () -> Duration
        var date: @Sendable () -> Date

        static func system() -> Clock {
            let start = ContinuousClock.now
            return Clock(elapsed: { .now - start }, date: { Date() })
        }
    }

    /// Plain mode: this many progress lines of a step are shown as they come (they are usually the few
    /// that say what the step does); the rest at most one per `plainInterval(after:)`.
    static let plainImmediate = 2

    /// Plain mode's pace for a step running `elapsed`: every 10 s in its first minute, every 30 s up to five
    /// minutes, then every minute, so an hour-long dump adds about 70 lines to a log, not 360.
    static func plainInterval(after elapsed: Duration) -> Duration {
        elapsed < .seconds(60) ? .seconds(10) : elapsed < .seconds(300) ? .seconds(30) : .seconds(60)
    }
    /// Tty mode: the status line is redrawn at most this often.
    static let redrawInterval: Duration = .milliseconds(100)

    let audit: @Sendable (ExecutionEvent) -> Void
    let style: ProgressStyle
    private let clock: Clock
    private let write: @Sendable (String) -> Void
    private let width: Int
    private let state: Mutex<State>
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    private let ticking: Bool

    /// A running step (or undo) as the renderer follows it.
    struct Section {
        var id: String
        var title: String
        var position: String
        var started: Duration
        var headerShown = false
        var shown = 0
        var lastShown: Duration
        var latest: (message: String, measure: ProgressMeasure?)?
        var pending = false
        /// The first sample of the current measure, for the rate behind the ETA.
        var firstSample: (time: Duration, done: Int64, unit: ProgressMeasure.Unit)?
    }

    struct State {
        var runID: String?
        var section: Section?
        var statusDrawn = false
        var lastDraw: Duration = .zero
        var hidden = 0
        var down: Duration?
        var up: Duration?
        /// A decision step's choice, shown on its "ok" line rather than a line of its own.
        var decision: (step: String, text: String)?
    }

    init(
        audit: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }, style: ProgressStyle = ProgressMode.auto.style(),
        runID: RunID? = nil, clock: Clock = .system(), width: Int? = nil, ticking: Bool = true,
        write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.audit = audit
        self.style = style
        self.clock = clock
        self.write = write
        self.width = max(20, width ?? Self.terminalWidth())
        self.ticking = ticking
        var initial = State()
        initial.runID = runID?.rawValue
        state = Mutex(initial)
    }

    deinit { ticker.withLock { $0?.cancel() } }

    var handler: ExecutionEventHandler {
        { [self] event in
            self.audit(event)
            self.render(event)
        }
    }

    /// The application's downtime, measured from the events.
    var downtimeText: String {
        let (down, up) = state.withLock { ($0.down, $0.up) }
        guard let down, let up else { return "unknown" }
        return Self.seconds(up - down)
    }

    // MARK: - Lines from the commands

    /// A line of the command's own (preflight, warnings): printed in every style, as a `note` in JSON.
    func emit(_ text: String) {
        state.withLock { state in
            if style == .json { return writeJSON("note", ["message": .string(text)], &state) }
            printLine(text, &state)
        }
    }

    /// The plan about to run. Someone asked to confirm reads all of it; an unattended run outside a
    /// terminal (`--yes`, plain or JSON) gets where it is kept instead: it is in `plan.json`, and
    /// `--dry-run` prints it.
    func plan(_ text: String, stepCount: Int, path: String, confirming: Bool) {
        state.withLock { state in
            switch style {
            case .json:
                writeJSON("plan.written", ["path": .string(path), "steps": .number(Double(stepCount))], &state)
            case .plain where !confirming:
                printLine("plan: \(stepCount) steps, kept in \(path) (--dry-run prints it)", &state)
            default:
                clearStatus(&state)
                write(text)
            }
        }
    }

    /// The run's closing words (what changed, how to roll back): as they are, or one `summary` object.
    func summary(_ text: String) {
        state.withLock { state in
            if style == .json {
                return writeJSON("summary", ["message": .string(text.trimmingCharacters(in: .newlines))], &state)
            }
            clearStatus(&state)
            write(text.hasSuffix("\n") ? text : text + "\n")
        }
    }

    /// Redraws the status line (tty) or shows what a long step held back (plain); called every second
    /// while a step runs.
    func tick() {
        state.withLock { state in
            guard var section = state.section else { return }
            let now = clock.elapsed()
            switch style {
            case .tty:
                if now - state.lastDraw >= .seconds(1) { drawStatus(section, &state) }
            case .plain:
                if section.pending, now - section.lastShown >= Self.plainInterval(after: now - section.started) {
                    showProgress(&section, &state)
                } else if !section.headerShown, now - section.started >= Self.plainInterval(after: .zero) {
                    showHeader(&section, &state)
                }
                state.section = section
            case .json:
                break
            }
        }
    }

    // MARK: - Events

    func render(_ event: ExecutionEvent) {
        state.withLock { state in
            let now = clock.elapsed()
            switch event {
            case .stepStarted(let step, _, _) where step.id == "stop-app": state.down = now
            case .stepFinished(let step, _, _) where step.id == "start-stack": state.up = now
            case .runStarted(let id, _): state.runID = id.rawValue
            default: break
            }
            switch style {
            case .json:
                if let (name, details, _) = AuditBridge.record(for: event) { writeJSON(name, details, &state) }
            case .plain, .tty:
                renderText(event, now: now, &state)
            }
        }
        switch event {
        case .stepStarted: startTicker()
        case .runFinished, .rollbackFinished: stopTicker()
        default: break
        }
    }

    private func renderText(_ event: ExecutionEvent, now: Duration, _ state: inout State) {
        switch event {
        case .stepStarted(let step, let index, let count):
            state.section = Section(id: step.id, title: step.title, position: "[\(index + 1)/\(count)]", started: now, lastShown: now)
            if style == .tty { drawStatus(state.section!, &state) }
        case .compensating(let id, let description, _):
            endSection(&state)
            printLine(Self.line(for: event) ?? "", &state)
            // An undo's own progress lines ("old cluster rebuilt from the dump") belong to it.
            state.section = Section(id: id, title: "undo \(id): \(description)", position: "   ", started: now, headerShown: true, lastShown: now)
            if style == .tty { drawStatus(state.section!, &state) }
        case .stepProgress(let id, let message, let measure):
            if state.section == nil || state.section?.id != id && id != "rollback" {
                // Progress outside a step the renderer follows (an undo reporting as "rollback"): its own section.
                state.section = Section(id: id, title: id, position: "   ", started: now, headerShown: true, lastShown: now)
            }
            progress(message, measure, now: now, &state)
        case .decided(let id, let branch, _, let steps):
            state.decision = (id, " -> \(branch) (then \(steps.map(\.id).joined(separator: ", ")))")
        case .stepFinished(let step, _, _), .stepFailed(let step, _, _):
            var position: String?
            if var section = state.section, section.id == step.id {
                position = section.position
                state.section = nil
                // A step's last word ("old fingerprint verified", "Restoring: …") is shown even if held back.
                if style == .plain, section.pending, section.latest?.measure == nil { showProgress(&section, &state) }
            }
            var text = (Self.line(for: event) ?? "").trimmingCharacters(in: .whitespaces)
            if let decision = state.decision, decision.step == step.id {
                text += decision.text
                state.decision = nil
            }
            printLine(position.map { "\($0) \(text)" } ?? "      " + text, &state)
        case .compensated, .compensationFailed:
            endSection(&state)
            printLine(Self.line(for: event) ?? "", &state)
        case .runStarted where style == .plain:
            // The plan line before it already named the run (its plan.json) and its steps.
            break
        case .runFinished:
            endSection(&state)
            let hidden = state.hidden > 0 ? state.runID.map { " (\(state.hidden) progress lines not shown: upshift log --run \($0))" } : nil
            printLine((Self.line(for: event) ?? "") + (hidden ?? ""), &state)
        default:
            if let line = Self.line(for: event) { printLine(line, &state) }
        }
    }

    /// Ends an undo's section, showing its last word if it was held back.
    private func endSection(_ state: inout State) {
        if style == .plain, var section = state.section, section.pending, section.latest?.measure == nil {
            showProgress(&section, &state)
        }
        state.section = nil
    }

    private func progress(_ message: String, _ measure: ProgressMeasure?, now: Duration, _ state: inout State) {
        guard var section = state.section else { return }
        section.latest = (message, measure)
        if let measure {
            if section.firstSample?.unit != measure.unit || (section.firstSample?.done ?? .max) > measure.done {
                section.firstSample = (now, measure.done, measure.unit)
            }
        } else {
            section.firstSample = nil
        }
        switch style {
        case .tty:
            section.pending = false
            if now - state.lastDraw >= Self.redrawInterval || !state.statusDrawn { drawStatus(section, &state) }
            state.hidden += 1
        case .plain:
            if (measure == nil && section.shown < Self.plainImmediate) || now - section.lastShown >= Self.plainInterval(after: now - section.started) {
                showProgress(&section, &state)
            } else {
                section.pending = true
                state.hidden += 1
            }
        case .json:
            break
        }
        state.section = section
    }

    private func showHeader(_ section: inout Section, _ state: inout State) {
        guard !section.headerShown else { return }
        section.headerShown = true
        printLine("\(section.position) \(section.title) ...", &state)
    }

    private func showProgress(_ section: inout Section, _ state: inout State) {
        guard let latest = section.latest else { return }
        showHeader(&section, &state)
        let now = clock.elapsed()
        if section.pending { state.hidden -= 1 }
        section.pending = false
        section.shown += 1
        section.lastShown = now
        printLine("      " + latest.message + Self.measureText(latest.measure, section: section, now: now), &state)
    }

    // MARK: - Output

    private func printLine(_ text: String, _ state: inout State) {
        clearStatus(&state)
        let stamp = Self.timestamp(clock.date())
        write("\(stamp) [\(String(format: "%6.1f", Self.secondsValue(clock.elapsed())))s] \(text)\n")
        if style == .tty, let section = state.section { drawStatus(section, &state) }
    }

    private func clearStatus(_ state: inout State) {
        guard state.statusDrawn else { return }
        write("\r\u{1B}[2K")
        state.statusDrawn = false
    }

    private func drawStatus(_ section: Section, _ state: inout State) {
        let now = clock.elapsed()
        var line = "\(section.position) \(section.title) · \(Self.compact(now - section.started))"
        if let latest = section.latest {
            line += " · " + latest.message + Self.measureText(latest.measure, section: section, now: now)
        }
        write("\r\u{1B}[2K" + Self.truncate(line, to: width - 1))
        state.statusDrawn = true
        state.lastDraw = now
    }

    private func writeJSON(_ event: String, _ details: [String: JSONValue], _ state: inout State) {
        var object = details
        object["event"] = .string(event)
        object["run"] = state.runID.map { .string($0) } ?? .null
        object["time"] = .string(AuditTimestamp.format(clock.date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(JSONValue.object(object)) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    // MARK: - The ticker

    private func startTicker() {
        guard ticking, style != .json else { return }
        ticker.withLock { task in
            guard task == nil else { return }
            task = Task.detached { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    guard let self, !Task.isCancelled else { return }
                    self.tick()
                }
            }
        }
    }

    private func stopTicker() {
        ticker.withLock { task in
            task?.cancel()
            task = nil
        }
        state.withLock { clearStatus(&$0) }
    }

    // MARK: - Text

    static func line(for event: ExecutionEvent) -> String? {
        switch event {
        case .runStarted(let runID, let count): return "run \(runID): \(count) steps"
        case .stepStarted(let step, let index, let count): return "[\(index + 1)/\(count)] \(step.title) ..."
        case .stepProgress(_, let message, let measure): return "      \(message)" + measureText(measure, section: nil, now: .zero)
        case .stepFinished(let step, let outcome, let duration): return "      ok  \(step.id) (\(Self.seconds(duration)))" + (outcome.summary.map { ": \($0)" } ?? "")
        case .stepFailed(let step, let error, _): return "      FAILED \(step.id): \(error)"
        case .pointOfNoReturn(let id): return "point of no return passed at \(id)"
        case .decided(let id, let branch, _, let steps): return "      \(id) chose \(branch): then \(steps.map(\.id).joined(separator: ", "))"
        case .oldClusterUnusable(_, let message): return "      POINT OF NO RETURN for the old cluster: \(message)"
        case .interrupted(let before): return "interrupted" + (before.map { " before \($0)" } ?? "")
        case .rollbackStarted(let ids): return "rolling back: \(ids.joined(separator: ", "))"
        case .compensating(let id, let description, _): return "   undo \(id): \(description)"
        case .compensated(let id): return "      undone \(id)"
        case .compensationFailed(let id, _, let error): return "      UNDO FAILED \(id): \(error)"
        case .rollbackFinished(let report): return report.isComplete ? "rollback complete" : "rollback INCOMPLETE"
        case .runFinished(let outcome): return "finished: \(outcome.status.rawValue)"
        }
    }

    /// " (5/300)" for counted items; ": 1.2 GiB of ~4.0 GiB (30%), ETA 2m10s" for bytes against a total.
    static func measureText(_ measure: ProgressMeasure?, section: Section?, now: Duration) -> String {
        guard let measure else { return "" }
        switch measure.unit {
        case .items:
            return measure.total.map { " (\(measure.done)/\($0))" } ?? " (\(measure.done))"
        case .bytes:
            var text = ": " + ByteFormat.string(measure.done)
            guard let total = measure.total, total > 0 else { return text }
            text += " of ~\(ByteFormat.string(total)) (\(min(100, measure.done * 100 / total))%)"
            if let first = section?.firstSample, first.unit == .bytes, measure.done > first.done, measure.done < total {
                let seconds = secondsValue(now - first.time)
                if seconds >= 1 {
                    let rate = Double(measure.done - first.done) / seconds
                    text += ", ETA " + compact(.seconds(Double(total - measure.done) / rate))
                }
            }
            return text
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1fs", secondsValue(duration))
    }

    static func secondsValue(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// "12s", "3m05s", "1h02m".
    static func compact(_ duration: Duration) -> String {
        let total = Int(secondsValue(duration).rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }

    static func truncate(_ text: String, to width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(1, width - 1))) + "…"
    }

    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// The terminal's columns (stderr), else `COLUMNS`, else 100.
    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 100
    }
}

/// Asks before a run changes anything; `--yes` answers for the user, and is required without a terminal.
enum Confirmation {
    static func ask(_ question: String, yes: Bool) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw UpshiftError.usage("refusing to change anything without confirmation: stdin is not a terminal", hint: "add --yes to run unattended")
        }
        FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else { throw UpshiftError("cancelled; nothing was changed", exitCode: .ok) }
    }
}
