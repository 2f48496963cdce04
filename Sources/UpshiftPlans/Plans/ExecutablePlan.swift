import Foundation

/// A plan built once: the validated `Plan` (what `--dry-run` prints and `plan.json` keeps) and the steps
/// that carry it out, from the same `ExecutableStep`s.
///
/// Planners return this instead of separate "steps" and "plan" calls, so the plan that is shown, written
/// and confirmed is by construction the one the executor runs, and an invalid plan (a duplicate step id on
/// some path, a decision without branches) cannot exist: the initializer validates it.
public struct ExecutablePlan: Sendable {
    /// The printable plan: header and the planned entries of `steps`, validated.
    public let plan: Plan
    /// The steps in order, decisions holding their branches.
    public let steps: [ExecutableStep]

    /// Builds and validates the plan of `steps` (`Plan.validate`).
    public init(runID: RunID, command: String, projectDirectory: String, summary: [String] = [], steps: [ExecutableStep]) throws {
        let plan = Plan(runID: runID, command: command, projectDirectory: projectDirectory, summary: summary, steps: steps.map(\.planned))
        try plan.validate()
        self.plan = plan
        self.steps = steps
    }
}
