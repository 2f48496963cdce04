import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Deletes one kept item. There is no undo: the step is journaled (intent before, outcome after) and
/// audited like every change, and marked as a point of no return so the plan says it cannot be undone.
///
/// Every check that made the item removable is made again right before the deletion, from the item
/// itself: the name still has the run's suffix and run id, and the path is not (and does not hold) the
/// data directory the project uses. Data directories go through a helper container of the db image
/// (`rm -rf` as root inside the mount: the files belong to the server's uid, and this works for named
/// volumes and bind mounts alike); dumps are the invoking user's files and are removed on the host.
struct RemoveKeptItemStep: PlanStep {
    var item: KeptItem
    var inventory: PruneInventory
    var redactor: Redactor

    /// The helper's program: refuses a missing path, the mount root and anything that is not a directory
    /// entry below it, deletes, proves it is gone. A constant; the path is `$1`. Exit 3: missing; 6: `rm`
    /// failed; 7: still there.
    static let removeScript =
        #"[ -e "$1" ] || [ -L "$1" ] || exit 3; case "$1" in /upshift-data/?*) ;; *) exit 2;; esac; "#
        + #"rm -rf -- "$1" || exit 6; if [ -e "$1" ] || [ -L "$1" ]; then exit 7; fi"#

    static func commands(_ item: KeptItem, inventory: PruneInventory) -> [Command] {
        switch item.kind {
        case .dump:
            return item.hostPaths.map { Command("rm", ["-rf", "--", $0]) }
        case .containers:
            return [Command("docker", ["rm", "-f"] + item.containerIDs, timeout: .seconds(120))]
        default:
            guard let mount = item.mount, let relative = item.relativePath else { return [] }
            var command = DataDirectoryOperations(runner: inventory.runner, image: inventory.helperImage).helperCommand(
                PruneInventory.root(mount), tool: "sh", ["-c", removeScript, "upshift-prune", DataDirectoryOperations.containerPath(relative)], readOnly: false)
            command.timeout = .seconds(3600)
            return [command]
        }
    }

    func planned() -> PlannedStep {
        let size = item.sizeBytes.map { ", \(ByteFormat.string($0))" } ?? ""
        var notes = ["created by run \(item.runID)" + (item.runCommand.map { " (\($0))" } ?? ""), "deleted for good: this cannot be undone"]
        if item.neededForRollback {
            notes.append("`upshift rollback --run \(item.runID)` needs it: after this step that rollback is refused")
        }
        return PlannedStep(
            id: item.stepID, title: "Remove the \(item.kind.label) of run \(item.runID): \(item.location)\(size)", kind: item.stepKind,
            commands: PlannedStep.render(Self.commands(item, inventory: inventory), redactor: redactor), mutates: true, compensation: nil,
            pointOfNoReturn: true, notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        if let refusal = inventory.refusal(for: item) { throw UpshiftError("refusing to remove \(item.location): \(refusal)") }
        switch item.kind {
        case .dump:
            try removeDump()
        case .containers:
            context.progress("removing \(item.containerNames.joined(separator: ", "))")
            try (try await inventory.runner.run(Self.commands(item, inventory: inventory)[0])).check()
        default:
            try await removeDirectory(context)
        }
        return StepOutcome(
            summary: "removed the \(item.kind.label) of run \(item.runID): \(item.location)" + (item.sizeBytes.map { " (\(ByteFormat.string($0)) freed)" } ?? ""),
            data: try JSONValue(encoding: item))
    }

    func removeDirectory(_ context: StepContext) async throws {
        guard item.mount != nil, let relative = item.relativePath, KeptItem.hasRunName(relative, kind: item.kind, runID: item.runID) else {
            throw UpshiftError("refusing to remove \(item.location): not named like a directory run \(item.runID) created")
        }
        context.progress("deleting \(item.location) in a helper container of \(inventory.helperImage)")
        let result = try await inventory.runner.run(Self.commands(item, inventory: inventory)[0])
        switch result.termination {
        case .exited(0), .exited(3):
            return
        default:
            throw UpshiftError("deleting \(item.location) failed (\(result.termination)): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    func removeDump() throws {
        let fm = FileManager.default
        for path in item.hostPaths {
            let name = (path as NSString).lastPathComponent
            guard name.contains(item.runID.rawValue), !name.hasPrefix(".") else {
                throw UpshiftError("refusing to remove \(path): its name does not hold run \(item.runID)")
            }
            if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
        }
    }
}
