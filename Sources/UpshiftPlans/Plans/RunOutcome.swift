import Foundation
import UpshiftSupport

/// One compensation that could not be completed: what it was meant to do and why it failed, so the
/// final message can tell the user exactly what state things are in.
public struct CompensationFailure: Sendable, Hashable, Codable {
    public var step: String
    public var description: String
    public var error: String

    public init(step: String, description: String, error: String) {
        self.step = step
        self.description = description
        self.error = error
    }
}

/// What an undo pass did: which steps it put back, where it stopped, what it left.
public struct RollbackReport: Sendable, Hashable, Codable {
    /// Steps undone by this pass, in the order they were undone.
    public var compensated: [String] = []
    /// The compensation that failed (the pass stops there: undoing earlier steps on top of a half-undone
    /// later one could start the old image on an empty data directory).
    public var failure: CompensationFailure?
    /// Steps that still need undoing, latest first (the failed one included).
    public var remaining: [String] = []
    /// Mutating steps whose change needs no undo (no compensation) and was left in place.
    public var irreversible: [String] = []

    public init(compensated: [String] = [], failure: CompensationFailure? = nil, remaining: [String] = [], irreversible: [String] = []) {
        self.compensated = compensated
        self.failure = failure
        self.remaining = remaining
        self.irreversible = irreversible
    }

    public var isComplete: Bool { failure == nil && remaining.isEmpty }
}

/// The verdict of a run, journaled as `run-finished` and mapped to the process exit code.
public struct RunOutcome: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case succeeded
        case failed
        /// Stopped by SIGINT or task cancellation.
        case interrupted
    }

    public enum RollbackStatus: String, Sendable, Hashable, Codable {
        /// Success, or nothing had been changed yet.
        case notNeeded = "not-needed"
        case complete
        case incomplete
        /// `--no-rollback`: the state was left for inspection.
        case skipped
    }

    public var status: Status
    public var rollback: RollbackStatus
    public var failedStep: String?
    /// Redacted message of the error that ended the run.
    public var error: String?
    public var report: RollbackReport

    public init(status: Status, rollback: RollbackStatus, failedStep: String? = nil, error: String? = nil, report: RollbackReport = RollbackReport()) {
        self.status = status
        self.rollback = rollback
        self.failedStep = failedStep
        self.error = error
        self.report = report
    }

    public static let succeeded = RunOutcome(status: .succeeded, rollback: .notNeeded)

    /// 0 success; 1 failed and put back; 2 put-back incomplete or deliberately skipped (the state is not the
    /// pre-run state); 130 interrupted and put back.
    public var exitCode: ExitCode {
        switch (status, rollback) {
        case (.succeeded, _): return .ok
        case (_, .incomplete), (_, .skipped): return .failedRollbackIncomplete
        case (.interrupted, _): return .interrupted
        case (.failed, _): return .failedRolledBack
        }
    }
}
