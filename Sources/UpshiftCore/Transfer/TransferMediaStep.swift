import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// Copies the media tree source -> target through helper containers and a host tar file: links that leave
/// the tree are refused first; the target's media are archived beforehand (the undo).
struct TransferMediaStep: PlanStep {
    var world: TransferWorld

    func planned() throws -> PlannedStep {
        let payload = RestoreMediaPayload(handle: world.context.target.handle, server: world.context.target.server, snapshotPath: world.mediaSnapshotPath)
        return PlannedStep(
            id: "copy-media", title: "Copy the media tree (same paths, owners, modes) source -> target", kind: "records.copy-media",
            commands: [
                "docker compose (source) run --rm -T --no-deps --entrypoint sh \(world.context.source.server) -c 'cd $INVENTREE_MEDIA_ROOT && tar --numeric-owner -cf - .' > \(world.mediaArchivePath)",
                "docker compose (target) run --rm -T --no-deps --entrypoint sh \(world.context.target.server) -c 'cd $INVENTREE_MEDIA_ROOT && tar --numeric-owner -xf -' < \(world.mediaArchivePath)",
            ],
            mutates: true,
            compensation: try CompensationSpec(kind: RestoreMediaCompensator.kind, description: "put the target's media tree back from \((world.mediaSnapshotPath as NSString).lastPathComponent)", typedPayload: payload),
            notes: ["symbolic links pointing outside the media tree are refused before anything is copied", "the target's media tree is archived first (the undo)",
                    "every script that writes or empties the target's media root refuses (exit 97) a root that is /, empty, relative, holds the data directory or a PostgreSQL cluster"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let source = MediaTree(endpoint: world.context.source), target = MediaTree(endpoint: world.context.target)
        let escaping = MediaTree.escapingLinks(try await source.links())
        guard escaping.isEmpty else {
            throw UpshiftError("the source's media tree has symbolic links pointing outside it: " + escaping.prefix(5).map { "\($0.link) -> \($0.target)" }.joined(separator: ", ")
                               + (escaping.count > 5 ? " (and \(escaping.count - 5) more)" : ""), hint: "replace them with the files they point to, then transfer again")
        }
        // The preflight judged the target's root; it is judged again where it will be written, now, in case
        // the variable changed since. A refusal here leaves no snapshot, so the undo of this step is a no-op
        // and the rest of the run is rolled back as usual.
        try await target.checkGuard()
        context.progress("archiving the target's media tree (undo) -> \(world.mediaSnapshotPath)")
        let partial = world.mediaSnapshotPath + ".part"
        try await target.archive(to: partial)
        try FileManager.default.moveItem(atPath: partial, toPath: world.mediaSnapshotPath)
        context.progress("archiving the source's media tree -> \(world.mediaArchivePath)")
        try await source.archive(to: world.mediaArchivePath)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: world.mediaArchivePath)[.size] as? NSNumber)?.int64Value ?? 0
        context.progress("extracting \(ByteFormat.string(bytes)) into the target's media tree")
        try await target.extract(from: world.mediaArchivePath)
        try? FileManager.default.removeItem(atPath: world.mediaArchivePath)
        return StepOutcome(summary: "copied \(ByteFormat.string(bytes)) of media")
    }
}
