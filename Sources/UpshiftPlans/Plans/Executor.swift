import Foundation
import UpshiftSupport

/// How a run reacts to failure and interruption.
public struct ExecutorOptions: Sendable {
    /// `false` is `--no-rollback`: a failed run leaves everything as it is for inspection.
    public var rollbackOnFailure: Bool
    /// Polled between steps and passed to steps: true once SIGINT arrived. Task cancellation counts too.
    public var isInterrupted: @Sendable () -> Bool

    public init(rollbackOnFailure: Bool = true, isInterrupted: @escaping @Sendable () -> Bool = { false }) {
        self.rollbackOnFailure = rollbackOnFailure
        self.isInterrupted = isInterrupted
    }
}

/// Runs a plan step by step with a journal, and undoes completed steps in reverse order when a step fails
/// or the run is interrupted.
///
/// For each mutating step: journal `intent` (with its compensation), run, journal `done` (with the
/// outcome). The journal is fsynced at each record, so a kill -9 at any point leaves `upshift rollback`
/// enough to restore the pre-run state. The executor itself never throws: every ending is a `RunOutcome`.
public struct Executor: Sendable {
    /// The plan to run, built and validated once by its planner: the executor runs exactly what was shown.
    public var plan: ExecutablePlan
    public var journal: RunJournal
    public var registry: CompensationRegistry
    public var runFolder: RunFolder?
    public var redactor: Redactor
    public var options: ExecutorOptions
    public var onEvent: ExecutionEventHandler
    public var clock: @Sendable () -> ContinuousClock.Instant

    public init(
        plan: ExecutablePlan,
        journal: RunJournal,
        registry: CompensationRegistry,
        runFolder: RunFolder? = nil,
        redactor: Redactor = Redactor(),
        options: ExecutorOptions = ExecutorOptions(),
        onEvent: @escaping ExecutionEventHandler = { _ in }
    ) {
        self.plan = plan
        self.journal = journal
        self.registry = registry
        self.runFolder = runFolder
        self.redactor = redactor
        self.options = options
        self.onEvent = onEvent
        self.clock = { ContinuousClock.now }
    }

    /// The run the journal records, from the plan.
    public var runID: RunID { plan.plan.runID }

    /// A mutating step that has recorded its intent, with what is known about how far it got.
    private struct Applied {
        var stepID: String
        var spec: CompensationSpec?
        var state: CompensationState
    }

    private func interrupted() -> Bool { Task.isCancelled || options.isInterrupted() }

    private func redacted(_ error: any Error) -> String { redactor.redact(String(describing: error)) }

    public func run() async -> RunOutcome {
        var applied: [Applied] = []
        onEvent(.runStarted(runID: runID, stepCount: plan.steps.count))
        do {
            try journal.append(JournalRecord(type: .runStarted, run: runID, command: redactor.redact(plan.plan.command)))
        } catch {
            let outcome = RunOutcome(status: .failed, rollback: .notNeeded, error: "cannot write the run journal: \(redacted(error))")
            onEvent(.runFinished(outcome))
            return outcome
        }

        let eventHandler = onEvent
        // A queue, because a decision replaces what follows it by the branch it chose plus the rest.
        var executed: [PlannedStep] = []
        var remaining = plan.steps[...]
        while let step = remaining.popFirst() {
            let planned = step.planned
            let index = executed.count
            let count = executed.count + 1 + remaining.count
            executed.append(planned)
            if interrupted() {
                onEvent(.interrupted(beforeStepID: planned.id))
                return await finish(status: .interrupted, failedStep: nil, error: "interrupted before \"\(planned.title)\"", applied: applied)
            }
            onEvent(.stepStarted(step: planned, index: index, count: count))
            let started = clock()
            if planned.mutates {
                do {
                    try journal.append(JournalRecord(type: .intent, step: planned.id, kind: planned.kind, title: planned.title, compensation: planned.compensation))
                } catch {
                    // Nothing ran: without a durable intent the step must not touch anything.
                    let message = "cannot write the run journal: \(redacted(error))"
                    onEvent(.stepFailed(step: planned, error: message, duration: clock() - started))
                    return await finish(status: .failed, failedStep: planned.id, error: message, applied: applied)
                }
                applied.append(Applied(stepID: planned.id, spec: planned.compensation, state: .partial))
                FaultPoint.reach("before:\(planned.id)")
            }
            var context = StepContext(
                runID: runID, runFolder: runFolder, redactor: redactor,
                progress: { [redactor] in eventHandler(.stepProgress(stepID: planned.id, message: redactor.redact($0))) },
                isInterrupted: { [options] in Task.isCancelled || options.isInterrupted() })
            context.oldClusterUnusable = { [redactor] in eventHandler(.oldClusterUnusable(stepID: planned.id, message: redactor.redact($0))) }
            context.measuredProgress = { [redactor] in eventHandler(.stepProgress(stepID: planned.id, message: redactor.redact($0), measure: $1)) }
            do {
                let outcome = try await step.action.run(context)
                if planned.mutates {
                    FaultPoint.reach("after:\(planned.id)")
                    applied[applied.count - 1].state = .completed(outcome)
                    if let refined = outcome.compensation { applied[applied.count - 1].spec = refined }
                    try journal.append(JournalRecord(type: .done, step: planned.id, kind: planned.kind, compensation: outcome.compensation, outcome: outcome))
                }
                if !step.branches.isEmpty {
                    let branch = try decide(step, outcome: outcome)
                    remaining = (branch.steps + remaining)[...]
                    let rest = remaining.map(\.planned)
                    let reason = redactor.redact(outcome.summary ?? "")
                    try journal.append(JournalRecord(type: .decision, step: planned.id, kind: planned.kind, outcome: outcome, branch: branch.name, plan: rest))
                    try replan(executed: executed, rest: rest)
                    onEvent(.decided(stepID: planned.id, branch: branch.name, reason: reason, steps: rest))
                }
                onEvent(.stepFinished(step: planned, outcome: outcome, duration: clock() - started))
                if planned.pointOfNoReturn {
                    try journal.append(JournalRecord(type: .pointOfNoReturn, step: planned.id, kind: planned.kind))
                    applied.removeAll()
                    onEvent(.pointOfNoReturn(stepID: planned.id))
                }
            } catch {
                let message = redacted(error)
                _ = try? journal.append(JournalRecord(type: .failed, step: planned.id, kind: planned.kind, error: message))
                onEvent(.stepFailed(step: planned, error: message, duration: clock() - started))
                let status: RunOutcome.Status = (error is CancellationError || interrupted()) ? .interrupted : .failed
                return await finish(status: status, failedStep: planned.id, error: message, applied: applied)
            }
        }
        return await finish(status: .succeeded, failedStep: nil, error: nil, applied: applied)
    }

    /// The branch a decision step's outcome names; a decision that names none of its branches is a bug in
    /// the step, and fails the run like any other error.
    private func decide(_ step: ExecutableStep, outcome: StepOutcome) throws -> ExecutableBranch {
        guard let name = outcome.branch, let branch = step.branches.first(where: { $0.name == name }) else {
            let names = step.branches.map(\.name).joined(separator: ", ")
            throw UpshiftError("internal: decision \(step.planned.id) chose \(outcome.branch ?? "no branch"), not one of \(names)")
        }
        return branch
    }

    /// Rewrites `plan.json` as the run now goes: the steps so far, then the chosen branch and the rest, so
    /// the run folder shows the plan being followed, not the tree of every possibility.
    private func replan(executed: [PlannedStep], rest: [PlannedStep]) throws {
        guard let runFolder, let data = FileManager.default.contents(atPath: runFolder.planPath) else { return }
        var written = try Plan.decode(data)
        written.steps = executed + rest
        try runFolder.writePlan(written, redactor: redactor)
    }

    private func finish(status: RunOutcome.Status, failedStep: String?, error: String?, applied: [Applied]) async -> RunOutcome {
        var outcome: RunOutcome
        let undoable = applied.reversed().filter { $0.spec != nil }
        let irreversible = applied.reversed().filter { $0.spec == nil }.map(\.stepID)
        if status == .succeeded {
            outcome = .succeeded
        } else if applied.isEmpty {
            outcome = RunOutcome(status: status, rollback: .notNeeded, failedStep: failedStep, error: error)
        } else if !options.rollbackOnFailure {
            let report = RollbackReport(remaining: undoable.map(\.stepID), irreversible: irreversible)
            outcome = RunOutcome(status: status, rollback: .skipped, failedStep: failedStep, error: error, report: report)
        } else {
            let items = undoable.map { UndoItem(stepID: $0.stepID, spec: $0.spec!, state: $0.state) }
            let context = CompensationContext(
                runID: runID, runFolder: runFolder, redactor: redactor,
                progress: { [onEvent, redactor] in onEvent(.stepProgress(stepID: "rollback", message: redactor.redact($0))) })
            // An unstructured task does not inherit cancellation: Ctrl-C must not cancel the undo itself.
            let report = await Task { [registry, journal, onEvent] in
                await UndoPass.run(items: items, irreversible: irreversible, registry: registry, journal: journal, context: context, onEvent: onEvent)
            }.value
            let rollback: RunOutcome.RollbackStatus = report.isComplete ? .complete : .incomplete
            outcome = RunOutcome(status: status, rollback: rollback, failedStep: failedStep, error: error, report: report)
        }
        _ = try? journal.append(JournalRecord(type: .runFinished, result: outcome))
        onEvent(.runFinished(outcome))
        return outcome
    }
}
