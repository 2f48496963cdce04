import Foundation
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// Writes a run's events to `<project>/.upshift/audit.jsonl`: every step start and end, every undo, the
/// outcome. A run that cannot write its audit log does not start.
final class AuditBridge: Sendable {
    let log: AuditLog
    let runID: RunID
    let command: String

    init(projectDirectory: String, runID: RunID, command: String, secrets: [Secret?]) throws {
        log = try AuditLog(projectDirectory: projectDirectory, redactor: Redactor(protecting: secrets))
        self.runID = runID
        self.command = command
    }

    func started(_ details: [String: String] = [:]) throws {
        var fields = details
        fields["command"] = command
        try log.append(run: runID.rawValue, event: AuditEvent.runStarted, stringDetails: fields, sync: true)
    }

    /// A run that ended before its plan started (a refusal in preflight) is audited too.
    func refused(_ error: Error) {
        _ = try? log.append(run: runID.rawValue, event: AuditEvent.runFinished, stringDetails: ["outcome": "refused", "message": "\(error)"], sync: true)
    }

    func note(_ event: String, _ details: [String: String]) {
        _ = try? log.append(run: runID.rawValue, event: event, stringDetails: details, sync: true)
    }

    var sink: @Sendable (ExecutionEvent) -> Void {
        { [self] event in
            guard let (name, details, sync) = Self.record(for: event) else { return }
            _ = try? self.log.append(run: self.runID.rawValue, event: name, details: details, sync: sync)
        }
    }

    static func record(for event: ExecutionEvent) -> (String, [String: JSONValue], Bool)? {
        switch event {
        case .runStarted(_, let count):
            return ("plan.started", ["steps": .number(Double(count))], true)
        case .stepStarted(let step, let index, let count):
            return (AuditEvent.stepStarted, ["step": .string(step.id), "title": .string(step.title), "index": .number(Double(index + 1)), "of": .number(Double(count)), "commands": .array(step.commands.map { .string($0) })], true)
        case .stepProgress(let id, let message, let measure):
            var details: [String: JSONValue] = ["step": .string(id), "message": .string(message)]
            if let measure {
                details["done"] = .number(Double(measure.done))
                details["total"] = measure.total.map { .number(Double($0)) } ?? .null
                details["unit"] = .string(measure.unit.rawValue)
            }
            return ("step.progress", details, false)
        case .stepFinished(let step, let outcome, let duration):
            return (AuditEvent.stepSucceeded, ["step": .string(step.id), "summary": .string(outcome.summary ?? ""), "seconds": .number(seconds(duration))], true)
        case .stepFailed(let step, let error, let duration):
            return (AuditEvent.stepFailed, ["step": .string(step.id), "error": .string(error), "seconds": .number(seconds(duration))], true)
        case .pointOfNoReturn(let id):
            return ("point-of-no-return", ["step": .string(id)], true)
        case .decided(let id, let branch, let reason, let steps):
            return ("plan.decided", ["step": .string(id), "branch": .string(branch), "reason": .string(reason), "then": .array(steps.map { .string($0.id) })], true)
        case .oldClusterUnusable(let id, let message):
            return ("point-of-no-return", ["step": .string(id), "message": .string(message), "old_cluster": .string("unusable; undo rebuilds it from the verified dump")], true)
        case .interrupted(let before):
            return ("run.interrupted", ["before": before.map { .string($0) } ?? .null], true)
        case .rollbackStarted(let ids):
            return (AuditEvent.rollbackStarted, ["steps": .array(ids.map { .string($0) })], true)
        case .compensating(let id, let description, let partial):
            return ("undo.started", ["step": .string(id), "description": .string(description), "partial": .bool(partial)], true)
        case .compensated(let id):
            return ("undo.succeeded", ["step": .string(id)], true)
        case .compensationFailed(let id, let description, let error):
            return ("undo.failed", ["step": .string(id), "description": .string(description), "error": .string(error)], true)
        case .rollbackFinished(let report):
            return (AuditEvent.rollbackFinished, ["complete": .bool(report.isComplete), "undone": .array(report.compensated.map { .string($0) }), "remaining": .array(report.remaining.map { .string($0) })], true)
        case .runFinished(let outcome):
            let name: String
            switch (outcome.status, outcome.rollback) {
            case (.succeeded, _): name = "succeeded"
            case (_, .incomplete), (_, .skipped): name = "failed-rollback-incomplete"
            case (.interrupted, _): name = "interrupted"
            case (.failed, _): name = "failed-rolled-back"
            }
            return (AuditEvent.runFinished, ["outcome": .string(name), "exit_code": .number(Double(outcome.exitCode.rawValue)), "failed_step": outcome.failedStep.map { .string($0) } ?? .null, "message": outcome.error.map { .string($0) } ?? .null], true)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
