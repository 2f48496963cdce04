import Foundation
import UpshiftSupport

/// One step to undo, with everything the compensator needs: shared by the executor's automatic rollback
/// and the `rollback` command, so both run the same code on the same data.
struct UndoItem: Sendable {
    var stepID: String
    var spec: CompensationSpec
    var state: CompensationState
}

/// Undoes items latest first, journaling `compensating` before and `compensated` /
/// `compensation-failed` after each. Stops at the first failure: undoing an earlier step on top of a
/// half-undone later one can make things worse (the old image started on an empty data directory).
///
/// Journal write failures do not stop the undo (putting the user's data back matters more than the
/// record of it); they are reported as progress and the next rollback re-runs idempotent compensations.
enum UndoPass {
    static func run(
        items: [UndoItem],
        irreversible: [String],
        registry: CompensationRegistry,
        journal: RunJournal?,
        context: CompensationContext,
        onEvent: ExecutionEventHandler
    ) async -> RollbackReport {
        var report = RollbackReport(irreversible: irreversible)
        func record(_ record: JournalRecord) {
            guard let journal else { return }
            do { try journal.append(record) } catch {
                onEvent(.stepProgress(stepID: record.step ?? "rollback", message: context.redactor.redact("could not write the journal: \(error)")))
            }
        }
        onEvent(.rollbackStarted(stepIDs: items.map(\.stepID)))
        record(JournalRecord(type: .rollbackStarted))
        for (position, item) in items.enumerated() {
            let partial = item.state == .partial
            onEvent(.compensating(stepID: item.stepID, description: item.spec.description, partial: partial))
            record(JournalRecord(type: .compensating, step: item.stepID, kind: item.spec.kind, compensation: item.spec, partial: partial))
            do {
                let compensator = try registry.resolve(item.spec.kind)
                var stepContext = context
                let progress = context.progress
                stepContext.progress = { progress($0) }
                FaultPoint.reach("undo-before:\(item.stepID)")
                try await compensator.compensate(item.spec, state: item.state, context: stepContext)
                FaultPoint.reach("undo-after:\(item.stepID)")
                record(JournalRecord(type: .compensated, step: item.stepID, kind: item.spec.kind))
                onEvent(.compensated(stepID: item.stepID))
                report.compensated.append(item.stepID)
            } catch {
                let message = context.redactor.redact(String(describing: error))
                record(JournalRecord(type: .compensationFailed, step: item.stepID, kind: item.spec.kind, error: message))
                onEvent(.compensationFailed(stepID: item.stepID, description: item.spec.description, error: message))
                report.failure = CompensationFailure(step: item.stepID, description: item.spec.description, error: message)
                report.remaining = items[position...].map(\.stepID)
                break
            }
        }
        record(JournalRecord(type: .rollbackFinished))
        onEvent(.rollbackFinished(report))
        return report
    }
}
