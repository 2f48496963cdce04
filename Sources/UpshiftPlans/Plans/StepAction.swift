import Foundation
import UpshiftSupport

/// What a step reports when it completes: a line for people and the data later steps or its compensator
/// need (the moved-aside path actually used, the services that were running, the edited file's new hash).
public struct StepOutcome: Sendable, Hashable, Codable {
    public var summary: String?
    public var data: JSONValue
    /// Replaces the planned compensation when the step learned something while running that changes how
    /// it is undone (for example the exact list of services it stopped).
    public var compensation: CompensationSpec?
    /// A decision step's choice: the name of the branch the run follows (`StepOutcome.decided`).
    public var branch: String?

    public init(summary: String? = nil, data: JSONValue = .null, compensation: CompensationSpec? = nil) {
        self.summary = summary
        self.data = data
        self.compensation = compensation
    }
}

/// What a running step can see: which run it belongs to and where to report progress.
public struct StepContext: Sendable {
    public var runID: RunID
    public var runFolder: RunFolder?
    public var redactor: Redactor
    /// Progress lines (bytes dumped, waiting for readiness); forwarded to the executor's event closure.
    public var progress: @Sendable (String) -> Void
    /// True once the user asked to stop (SIGINT) or the task was cancelled; long steps should poll it.
    public var isInterrupted: @Sendable () -> Bool
    /// Announces, before doing it, that the old cluster is about to become unusable (audit: point of no
    /// return for the old data; the run is still undone, from the dump).
    public var oldClusterUnusable: @Sendable (String) -> Void = { _ in }
    /// Progress with a measure; without one set (tests, undo), `report` falls back to `progress`.
    public var measuredProgress: (@Sendable (String, ProgressMeasure) -> Void)?

    /// A progress line that says how far the step is (`done` of `total` bytes or items).
    public func report(_ message: String, _ measure: ProgressMeasure) {
        if let measuredProgress { measuredProgress(message, measure) } else { progress(message) }
    }

    public init(
        runID: RunID,
        runFolder: RunFolder? = nil,
        redactor: Redactor = Redactor(),
        progress: @escaping @Sendable (String) -> Void = { _ in },
        isInterrupted: @escaping @Sendable () -> Bool = { Task.isCancelled }
    ) {
        self.runID = runID
        self.runFolder = runFolder
        self.redactor = redactor
        self.progress = progress
        self.isInterrupted = isInterrupted
    }
}

/// The executable half of a step. It captures its own dependencies (runner, compose driver, paths) when
/// the planner builds it; the Codable half is the `PlannedStep` it is paired with. Steps of the real plans
/// are `PlanStep`s, which give both halves from one type.
///
/// There is deliberately no `compensate` here: undo goes through the `CompensationRegistry`, keyed by the
/// `CompensationSpec.kind` recorded in the journal, so that an in-process rollback and a `rollback` command
/// run after kill -9 execute the very same code from the very same data.
public protocol StepAction: Sendable {
    func run(_ context: StepContext) async throws -> StepOutcome
}

/// A step built from a closure, for tests; the plans' steps are `PlanStep` types.
public struct ClosureStepAction: StepAction {
    let body: @Sendable (StepContext) async throws -> StepOutcome
    public init(_ body: @escaping @Sendable (StepContext) async throws -> StepOutcome) { self.body = body }
    public func run(_ context: StepContext) async throws -> StepOutcome { try await body(context) }
}

/// A planned step with the code that performs it, as the executor runs it. Planners make these from a
/// `PlanStep` (`step.executable`, `step.deciding(branches)`), so the entry always comes from its action's type.
public struct ExecutableStep: Sendable {
    public var planned: PlannedStep
    public var action: any StepAction
    /// A decision step's branches (empty for every other step).
    public private(set) var branches: [ExecutableBranch] = []

    public init(_ planned: PlannedStep, action: any StepAction) {
        self.planned = planned
        self.action = action
    }

    /// A decision step: `action` returns `StepOutcome.decided(name, …)` naming one of `branches`.
    public init(decision planned: PlannedStep, action: any StepAction, branches: [ExecutableBranch]) {
        var planned = planned
        planned.branches = branches.map(\.planned)
        self.planned = planned
        self.action = action
        self.branches = branches
    }
}
