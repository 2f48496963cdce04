import Foundation

/// The state of a run as its journal tells it: what completed, what was in flight when the process died,
/// what has already been undone, and what must still be undone (latest first).
///
/// This is a pure function of the records, so it is tested by truncating journals at every byte.
public struct RunState: Sendable, Hashable {
    public enum Progress: Sendable, Hashable {
        /// Intent recorded, no outcome: the process died (or is still running) inside the step.
        case inFlight
        case completed(StepOutcome)
        case failed(String)
    }

    public enum UndoProgress: Sendable, Hashable {
        case notStarted
        /// `compensating` recorded without a result: the undo itself was interrupted.
        case inProgress
        case done
        case failed(String)
    }

    /// One mutating step that recorded an intent.
    public struct StepEntry: Sendable, Hashable {
        public var id: String
        public var kind: StepKind?
        public var title: String?
        public var progress: Progress
        public var undo: UndoProgress
        /// The compensation to use: the step's outcome may have refined the one recorded at intent.
        public var compensation: CompensationSpec?
        /// Whether the step lies at or before the last point of no return.
        public var final: Bool

        /// How the compensator should treat the step.
        public var compensationState: CompensationState {
            if case .completed(let outcome) = progress { return .completed(outcome) }
            return .partial
        }
    }

    public var runID: RunID?
    public var command: String?
    /// In the order the intents were recorded.
    public var steps: [StepEntry] = []
    public var pointOfNoReturn: String?
    /// The executor's verdict, when it got to write one.
    public var finished: RunOutcome?
    public var rollbackStarted = false
    /// Set when a rollback pass recorded its end; `rollbackReport` is that pass's report.
    public var rollbackFinished = false
    public var lastRecordTime: String?
    public var tornTail = false

    public init(records: [JournalRecord], tornTail: Bool = false) {
        self.tornTail = tornTail
        var index: [String: Int] = [:]
        func entry(_ record: JournalRecord) -> Int? {
            guard let id = record.step else { return nil }
            if let existing = index[id] { return existing }
            steps.append(StepEntry(id: id, kind: record.kind, title: record.title, progress: .inFlight, undo: .notStarted, compensation: record.compensation, final: false))
            index[id] = steps.count - 1
            return steps.count - 1
        }
        for record in records {
            lastRecordTime = record.time
            switch record.type {
            case .runStarted:
                runID = record.run ?? runID
                command = record.command ?? command
            case .intent:
                guard let i = entry(record) else { continue }
                steps[i].compensation = record.compensation
                steps[i].progress = .inFlight
            case .done:
                guard let i = entry(record) else { continue }
                steps[i].progress = .completed(record.outcome ?? StepOutcome())
                if let refined = record.outcome?.compensation ?? record.compensation { steps[i].compensation = refined }
            case .failed:
                // Failures of read-only steps carry no intent; they matter only for the verdict.
                guard let id = record.step, let i = index[id] else { continue }
                steps[i].progress = .failed(record.error ?? "failed")
            case .pointOfNoReturn:
                pointOfNoReturn = record.step
                if let id = record.step, let last = index[id] {
                    for j in 0...last { steps[j].final = true }
                }
            case .rollbackStarted:
                rollbackStarted = true
                rollbackFinished = false
            case .compensating:
                guard let id = record.step, let i = index[id] else { continue }
                steps[i].undo = .inProgress
            case .compensated:
                guard let id = record.step, let i = index[id] else { continue }
                steps[i].undo = .done
            case .compensationFailed:
                guard let id = record.step, let i = index[id] else { continue }
                steps[i].undo = .failed(record.error ?? "failed")
            case .rollbackFinished:
                rollbackFinished = true
            case .runFinished:
                finished = record.result
            case .decision:
                // Which way the run went; the steps of the branch journal their own intent and outcome.
                continue
            }
        }
    }

    /// Reads and reconstructs the journal at `path`.
    public static func load(path: String) throws -> RunState {
        let contents = try JournalReader.read(path: path)
        return RunState(records: contents.records, tornTail: contents.tornTail != nil)
    }

    /// The process died before the executor wrote its verdict.
    public var wasInterrupted: Bool { finished == nil }

    /// The step whose intent is recorded without an outcome (at most one: steps run one at a time).
    public var inFlightStep: StepEntry? {
        steps.last { if case .inFlight = $0.progress { return true } else { return false } }
    }

    public var completedSteps: [StepEntry] {
        steps.filter { if case .completed = $0.progress { return true } else { return false } }
    }

    /// Steps that still have to be undone, latest first: every step with an intent after the point of no
    /// return whose compensation has not completed (including one interrupted mid-undo: compensators are
    /// idempotent).
    public var pendingUndo: [StepEntry] {
        steps.reversed().filter { !$0.final && $0.undo != .done && $0.compensation != nil }
    }

    /// Mutating steps after the point of no return that recorded no compensation: left as they are.
    public var irreversible: [StepEntry] {
        steps.reversed().filter { !$0.final && $0.compensation == nil }
    }

    /// Nothing is left to undo.
    public var isFullyUndone: Bool { pendingUndo.isEmpty }

    /// The run left changes behind that are neither a finished success nor undone: killed mid-run, failed
    /// with `--no-rollback`, or a rollback that did not finish. A new run must not start on top of it.
    public var needsRollback: Bool {
        guard !pendingUndo.isEmpty else { return false }
        guard let finished else { return true }
        return rollbackStarted || finished.status != .succeeded
    }
}
