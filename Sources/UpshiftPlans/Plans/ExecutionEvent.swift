import Foundation

/// What the executor and rollback report while they work. The audit sink and the terminal renderer
/// subscribe through one `@Sendable` closure; every string in here is already redacted.
public enum ExecutionEvent: Sendable, Hashable {
    case runStarted(runID: RunID, stepCount: Int)
    case stepStarted(step: PlannedStep, index: Int, count: Int)
    /// A progress line from inside a running step (bytes dumped, waiting for readiness); `measure` says how
    /// far along it is when the step can count (bytes written of an estimate, tables of a database).
    case stepProgress(stepID: String, message: String, measure: ProgressMeasure? = nil)
    case stepFinished(step: PlannedStep, outcome: StepOutcome, duration: Duration)
    case stepFailed(step: PlannedStep, error: String, duration: Duration)
    case pointOfNoReturn(stepID: String)
    /// A decision step chose `branch` because of `reason`; `steps` is the rest of the run from here.
    case decided(stepID: String, branch: String, reason: String, steps: [PlannedStep])
    /// From here the old cluster can no longer simply be started again (pg_upgrade link/swap); an undo
    /// rebuilds it from the verified dump. Written to the audit log before the step does it.
    case oldClusterUnusable(stepID: String, message: String)
    /// The run stopped at a step boundary because of SIGINT or cancellation.
    case interrupted(beforeStepID: String?)
    /// Undo is about to start for these steps, latest first.
    case rollbackStarted(stepIDs: [String])
    case compensating(stepID: String, description: String, partial: Bool)
    case compensated(stepID: String)
    case compensationFailed(stepID: String, description: String, error: String)
    case rollbackFinished(RollbackReport)
    case runFinished(RunOutcome)
}

/// How far a running step is: `done` of `total` (when known) `unit`s. Renderers show bytes and an ETA;
/// the audit log keeps the numbers beside the message.
public struct ProgressMeasure: Sendable, Hashable, Codable {
    public enum Unit: String, Sendable, Hashable, Codable { case bytes, items }
    public var done: Int64
    public var total: Int64?
    public var unit: Unit

    public init(done: Int64, total: Int64?, unit: Unit) {
        self.done = done
        self.total = total
        self.unit = unit
    }
}

/// Subscribers to execution events.
public typealias ExecutionEventHandler = @Sendable (ExecutionEvent) -> Void
