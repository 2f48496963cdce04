import Foundation

/// A step of a plan as one type: the entry `--dry-run` prints and `plan.json` keeps (`planned()`) and the
/// code that does it (`run`), both from the same stored inputs.
///
/// One type per step, so the description cannot drift from the action it describes, and adding a step is
/// one new type plus one line in one planner (`try StepName(world: world).executable`). `planned()` must
/// only read the step's own properties and must not run anything: planning a run changes nothing.
public protocol PlanStep: StepAction {
    /// This step's entry in the plan. Throws when the plan cannot be described (a compensation payload
    /// that does not encode, a missing upgrade image), which refuses the whole plan before anything runs.
    func planned() throws -> PlannedStep
}

extension PlanStep {
    /// The step paired with its plan entry, as the executor runs it.
    public var executable: ExecutableStep {
        get throws { ExecutableStep(try planned(), action: self) }
    }

    /// A decision step: `run` returns `StepOutcome.decided(name, …)` naming one of `branches`, which the
    /// planner builds (every branch is planned before anything runs).
    public func deciding(_ branches: [ExecutableBranch]) throws -> ExecutableStep {
        ExecutableStep(decision: try planned(), action: self, branches: branches)
    }
}
