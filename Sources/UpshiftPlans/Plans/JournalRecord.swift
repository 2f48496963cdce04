import Foundation

/// One line of `journal.jsonl`.
///
/// The journal is the only thing `upshift rollback` trusts after a crash, so every record that matters
/// for undo carries its data in full (the compensation spec is repeated on `intent`, `done` and
/// `compensating`) instead of pointing at the plan.
public struct JournalRecord: Sendable, Hashable, Codable {
    public enum RecordType: String, Sendable, Hashable, Codable {
        /// First record: which run, which command.
        case runStarted = "run-started"
        /// Before a mutating step: everything needed to undo it, even if it is interrupted half-way.
        case intent
        /// The step completed; `outcome` holds its data.
        case done
        /// The step threw; `error` holds the (redacted) message.
        case failed
        /// The step at `step` is now final: later failures do not undo it or anything before it.
        case pointOfNoReturn = "point-of-no-return"
        case rollbackStarted = "rollback-started"
        /// About to undo `step` with `compensation`.
        case compensating
        case compensated
        case compensationFailed = "compensation-failed"
        case rollbackFinished = "rollback-finished"
        /// The executor's verdict; absent when the process was killed.
        case runFinished = "run-finished"
        /// A decision step chose `branch`; `plan` holds the steps the run follows from here.
        case decision
    }

    /// Schema version of the record.
    public var v: Int
    /// Gap-free sequence number within the journal, starting at 1.
    public var seq: Int
    /// ISO-8601 UTC with milliseconds.
    public var time: String
    public var type: RecordType
    public var run: RunID?
    public var command: String?
    public var step: String?
    public var kind: StepKind?
    public var title: String?
    public var compensation: CompensationSpec?
    /// True on a `compensating` record when the step never reported completion.
    public var partial: Bool?
    public var outcome: StepOutcome?
    public var error: String?
    public var result: RunOutcome?
    /// On `decision`: the branch taken.
    public var branch: String?
    /// On `decision`: the rest of the run, as re-planned by the decision.
    public var plan: [PlannedStep]?

    public init(
        type: RecordType,
        run: RunID? = nil,
        command: String? = nil,
        step: String? = nil,
        kind: StepKind? = nil,
        title: String? = nil,
        compensation: CompensationSpec? = nil,
        partial: Bool? = nil,
        outcome: StepOutcome? = nil,
        error: String? = nil,
        result: RunOutcome? = nil,
        branch: String? = nil,
        plan: [PlannedStep]? = nil
    ) {
        self.v = 1
        self.seq = 0
        self.time = ""
        self.type = type
        self.run = run
        self.command = command
        self.step = step
        self.kind = kind
        self.title = title
        self.compensation = compensation
        self.partial = partial
        self.outcome = outcome
        self.error = error
        self.result = result
        self.branch = branch
        self.plan = plan
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
