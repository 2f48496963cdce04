import Foundation
import UpshiftSupport

/// Undoes a run from its journal alone: a finished run (`upshift rollback` after a successful upgrade),
/// a failed one left by `--no-rollback`, or one killed at any point.
///
/// Idempotent: steps whose compensation is journaled as done are skipped, and a compensation that was
/// itself interrupted is run again (compensators are idempotent). The caller must hold the `ProjectLock`,
/// which also guarantees the run being undone is not still running.
public struct Rollback: Sendable {
    public var folder: RunFolder
    public var registry: CompensationRegistry
    public var redactor: Redactor
    public var onEvent: ExecutionEventHandler

    public init(folder: RunFolder, registry: CompensationRegistry, redactor: Redactor = Redactor(), onEvent: @escaping ExecutionEventHandler = { _ in }) {
        self.folder = folder
        self.registry = registry
        self.redactor = redactor
        self.onEvent = onEvent
    }

    /// What `run()` would undo, latest first, for the confirmation prompt and `--dry-run`.
    public func pending() throws -> [RunState.StepEntry] { try folder.loadState().pendingUndo }

    /// Refuses, before anything is undone, when a file the rollback would restore was edited after the run:
    /// finding that half-way would leave the stack stopped with the files unchanged.
    public func checkFiles() throws {
        for entry in try pending() where entry.compensation?.kind == RestoreSnapshotCompensator.kind {
            let payload = try entry.compensation!.payload.decode(RestoreSnapshotPayload.self)
            try folder.checkSnapshotRestorable(only: payload.files.isEmpty ? nil : payload.files)
        }
    }

    /// Runs the pending compensations, appending to the run's journal.
    ///
    /// - Throws: only when the journal cannot be read or opened; compensation failures are in the report.
    public func run() async throws -> RollbackReport {
        let state = try folder.loadState()
        let items = state.pendingUndo.map { UndoItem(stepID: $0.id, spec: $0.compensation!, state: $0.compensationState) }
        let irreversible = state.irreversible.map(\.id)
        guard !items.isEmpty else { return RollbackReport(irreversible: irreversible) }
        let journal = try folder.openJournal()
        defer { journal.close() }
        let context = CompensationContext(
            runID: folder.runID, runFolder: folder, redactor: redactor,
            progress: { [onEvent, redactor] in onEvent(.stepProgress(stepID: "rollback", message: redactor.redact($0))) })
        let (registry, onEvent) = (self.registry, self.onEvent)
        return await Task {
            await UndoPass.run(items: items, irreversible: irreversible, registry: registry, journal: journal, context: context, onEvent: onEvent)
        }.value
    }
}
