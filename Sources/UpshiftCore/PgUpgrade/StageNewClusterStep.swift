import Foundation
import UpshiftPlans
import UpshiftSupport

/// The dump method's staging, before the window: the online dump restored into a new cluster beside the
/// old one by a one-off server of the target image, analyzed, and compared with the online fingerprint
/// (`StagedServer.build`). The window's `prepared` branch renames it into place.
///
/// When the application has already written since the snapshot, the window can only take its `changed`
/// branch, so staging would be work and disk thrown away, and worse: sequences move outside any snapshot,
/// so the dump and the online fingerprint may hold different values for one of them, which would read as a
/// restore that lost data. The step checks first, as the window will (`OnlinePreparation.check`), and
/// stages nothing when the snapshot is already outdated (`OnlinePreparation.outdated`).
struct StageNewClusterStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() throws -> PlannedStep {
        PlannedStep(
            id: "stage-new-cluster",
            title: "Before the window: restore the online dump into a new cluster at \(StagedCluster.relativePath(world)) and verify it",
            kind: "pg.stage-new-cluster", commands: PlannedStep.render([StagedServer(world: world).runCommand], redactor: world.redactor),
            mutates: true, compensation: try StagedClusterCompensator.spec(world: world),
            notes: ["a one-off PostgreSQL \(world.context.options.targetMajor) server (docker compose run, no published port) restores, analyzes, compares its fingerprint with the snapshot's and shuts down"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        guard let online = try OnlinePreparation.load(world.runFolder), let globals = online.globals else {
            throw UpshiftError("internal: stage-new-cluster without the online dump in \(world.runFolder.path)")
        }
        let dir = DumpClusterStep.directory(world)
        let expected = try FingerprintFile.load(OnlinePreparation.fingerprintPath(world.runFolder))
        if let reason = try await OnlinePreparation.outdated(world) {
            return StepOutcome(summary: "not staged: changed since the online snapshot (\(reason)); the window will dump and restore")
        }
        let manifest = DumpManifest(oldMajor: world.context.oldMajor, superuser: world.database.superuser, files: [globals] + online.dumpFiles)
        do {
            let cluster = try await StagedServer(world: world).build(manifest: manifest, in: dir, expected: expected, context: context)
            try cluster.write(world.runFolder)
            return StepOutcome(summary: "restored into \(cluster.relativePath) and verified")
        } catch {
            // The run ends here, before the window. The staged server and directory are this step's undo;
            // the online dump has none, so it goes now.
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }
}
