import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What `upshift prune` runs removed, read back from their journals — the same source of truth every other
/// run uses — so that `upshift rollback` of a pruned run refuses by name instead of starting an undo that
/// cannot finish (renaming back a cluster that is gone would leave the old image on the new cluster).
public enum PruneRecord {
    /// The command every prune run records (`prune --all`, `prune --run …`).
    public static let command = "prune"
    /// Step kinds of prune runs: `prune.remove.<KeptItem.Kind>`.
    public static let stepKindPrefix = "prune.remove."

    /// One item a prune run removed (or started to remove: an intent without an outcome counts, the
    /// deletion may have got half-way).
    public struct Removal: Sendable, Hashable {
        public var kind: KeptItem.Kind
        /// The run whose item it was.
        public var runID: RunID
        /// The prune run that removed it.
        public var prunedBy: RunID
        /// The step's title (what and where).
        public var title: String?
    }

    /// True for a run that only pruned: nothing of it can be rolled back.
    public static func isPruneRun(_ state: RunState) -> Bool {
        state.command.map { $0 == command || $0.hasPrefix(command + " ") } ?? false
    }

    /// Every removal recorded by the project's prune runs, oldest first.
    public static func removals(projectDirectory: String) -> [Removal] {
        var result: [Removal] = []
        for runID in RunFolder.runIDs(projectDirectory: projectDirectory) {
            let folder = RunFolder(projectDirectory: projectDirectory, runID: runID)
            guard let state = try? folder.loadState(), isPruneRun(state) else { continue }
            for step in state.steps {
                guard let kindText = step.kind?.rawValue, kindText.hasPrefix(stepKindPrefix),
                      let kind = KeptItem.Kind(rawValue: String(kindText.dropFirst(stepKindPrefix.count))),
                      let owner = RunID(String(step.id.suffix(20)))
                else { continue }
                result.append(Removal(kind: kind, runID: owner, prunedBy: runID, title: step.title))
            }
        }
        return result
    }

    /// The newest run that is not a prune run: what `upshift rollback` undoes by default, and whose old
    /// cluster and dump the prune listing marks as still needed.
    public static func latestUndoableRun(projectDirectory: String) -> RunFolder? {
        for runID in RunFolder.runIDs(projectDirectory: projectDirectory).reversed() {
            let folder = RunFolder(projectDirectory: projectDirectory, runID: runID)
            if let state = try? folder.loadState(), isPruneRun(state) { continue }
            return folder
        }
        return nil
    }
}

extension Rollback {
    /// Refuses, before anything is undone, a rollback that needs what `upshift prune` removed: the old
    /// cluster its data undo renames back, or the dump its rebuild undo restores from.
    ///
    /// - Throws: `UpshiftError` (usage) naming the item, the prune run and what is still there.
    public func refuseIfPruned() throws {
        let pending = try pending()
        let removed = PruneRecord.removals(projectDirectory: folder.projectDirectory).filter { $0.runID == folder.runID }
        guard !removed.isEmpty, !pending.isEmpty else { return }
        let needsCluster = pending.contains { $0.compensation?.kind == DataRestoreCompensator.kind }
        let needsDump = pending.contains { [RebuildFromDumpCompensator.kind, RestoreDumpCompensator.kind].contains($0.compensation?.kind) }
        let blocking = removed.filter { ($0.kind == .oldCluster && needsCluster) || ($0.kind == .dump && needsDump) || $0.kind == .unusableCluster && needsDump }
        guard let first = blocking.first else { return }
        throw UpshiftError.usage(
            "cannot roll back run \(folder.runID): its \(first.kind.label) was deleted by `upshift prune` (run \(first.prunedBy))"
                + (first.title.map { " — \($0)" } ?? ""),
            hint: "the current cluster and compose files stay as they are; to go back to the old major, restore a backup of your own into a fresh cluster")
    }
}
