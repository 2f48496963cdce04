import Foundation
import UpshiftSupport

/// One way a run can go after a decision step, as plain data: what `--dry-run` shows under the decision
/// and what `plan.json` keeps until the decision is taken.
///
/// A plan with decisions is a tree printed once: every branch is planned (and validated) before anything
/// runs, so the reader sees every path the run can take and what chooses it. Running, the executor follows
/// exactly one branch per decision and writes the plan it then follows (`Executor`).
public struct PlannedBranch: Sendable, Hashable, Codable {
    /// Stable, short (`prepared`, `changed`): what the decision step returns and the journal records.
    public var name: String
    /// What makes the decision take this branch, for people ("nothing committed since the snapshot").
    public var when: String
    public var steps: [PlannedStep]

    public init(name: String, when: String, steps: [PlannedStep]) {
        self.name = name
        self.when = when
        self.steps = steps
    }
}

/// A branch with the code of its steps.
public struct ExecutableBranch: Sendable {
    public var name: String
    public var when: String
    public var steps: [ExecutableStep]

    public init(_ name: String, when: String, steps: [ExecutableStep]) {
        self.name = name
        self.when = when
        self.steps = steps
    }

    public var planned: PlannedBranch { PlannedBranch(name: name, when: when, steps: steps.map(\.planned)) }
}

/// What a decision step returns: which branch, and why (the reason is the step's summary).
extension StepOutcome {
    public static func decided(_ branch: String, because reason: String, data: JSONValue = .null) -> StepOutcome {
        var outcome = StepOutcome(summary: reason, data: data)
        outcome.branch = branch
        return outcome
    }
}
