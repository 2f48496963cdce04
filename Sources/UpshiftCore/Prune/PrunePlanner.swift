import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Turns a selection of kept items into a run: one `RemoveKeptItemStep` per item, executed by the usual
/// `Executor` with the run journal and the audit log, like any other change upshift makes.
///
/// Removal needs an explicit selection (`--run ID`, `--all`): listing is the default and changes nothing.
/// The live cluster is never selectable, and nothing is planned while a run is open.
public struct PrunePlanner: Sendable {
    public enum Selection: Sendable, Hashable {
        /// Everything removable.
        case all
        /// What the given runs kept.
        case runs([RunID])
    }

    public var inventory: PruneInventory
    public var items: [KeptItem]
    public var runID: RunID
    public var command: String
    public var redactor: Redactor

    public init(inventory: PruneInventory, items: [KeptItem], runID: RunID, command: String, redactor: Redactor = Redactor()) {
        self.inventory = inventory
        self.items = items
        self.runID = runID
        self.command = command
        self.redactor = redactor
    }

    /// Refuses to prune while a run is unfinished or needs `upshift rollback`: what it left may be what its
    /// undo needs. (The caller also holds the project lock, so no run can start meanwhile.)
    public static func refuseOpenRun(projectDirectory: String) throws {
        guard let (folder, state) = try RunFolder.runNeedingRollback(projectDirectory: projectDirectory) else { return }
        throw UpshiftError.usage(
            "run \(folder.runID) (\(state.command ?? "?")) did not finish and was not undone: nothing is pruned while a run is open",
            hint: "finish it with `upshift rollback --run \(folder.runID)` first")
    }

    /// The selected items, and for each selected item prune will not remove, the reason.
    /// - Throws: `UpshiftError` (usage) for a `--run` that kept nothing.
    public func select(_ selection: Selection) throws -> (remove: [KeptItem], refused: [(KeptItem, String)]) {
        let chosen: [KeptItem]
        switch selection {
        case .all:
            chosen = items
        case .runs(let ids):
            for id in ids where !items.contains(where: { $0.runID == id }) {
                throw UpshiftError.usage("run \(id) kept nothing that prune can find", hint: "`upshift prune` lists what runs kept")
            }
            chosen = items.filter { ids.contains($0.runID) }
        }
        return (chosen.filter(\.isRemovable), chosen.compactMap { item in item.refusal.map { (item, $0) } })
    }

    /// The plan for removing `remove` (already confirmed by the user): one step per item.
    public func plan(_ remove: [KeptItem]) throws -> ExecutablePlan {
        let total = remove.reduce(Int64(0)) { $0 + ($1.sizeBytes ?? 0) }
        var summary = ["\(remove.count) item(s), \(ByteFormat.string(total)); deleted for good: a prune cannot be undone"]
        let needed = Set(remove.filter(\.neededForRollback).map(\.runID))
        for run in needed.sorted() {
            summary.append("run \(run) can no longer be rolled back afterwards (its old cluster or dump is removed)")
        }
        return try ExecutablePlan(
            runID: runID, command: command, projectDirectory: inventory.projectDirectory, summary: summary,
            steps: remove.map { try RemoveKeptItemStep(item: $0, inventory: inventory, redactor: redactor).executable })
    }
}
