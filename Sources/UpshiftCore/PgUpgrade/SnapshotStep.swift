import Foundation
import UpshiftPlans
import UpshiftSupport

/// Byte-exact copies of the compose files and env files, the resolved config and the image
/// digests, in the run folder, before anything changes. The switch-image compensation restores from here.
struct SnapshotStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() -> PlannedStep {
        PlannedStep(
            id: "snapshot", title: "Snapshot compose files, .env, resolved config and image digests", kind: "pg.snapshot",
            commands: [], mutates: false,
            notes: ["into \(world.runFolder.snapshotDirectory)"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let files = world.context.project.location.files + world.context.project.location.envFiles
        let manifest = try world.runFolder.snapshot(files: files)
        let config = try await world.compose.run(["config", "--format", "json"], timeout: .seconds(60))
        // The resolved config holds the resolved environment: the database password is masked wherever it
        // appears, in every form (first, while it is whole: the structural mask below may cut a value with
        // spaces at the first one), then secret-named variables are blanked and credentials masked by their
        // place, whatever their length; the file is kept private.
        let redacted = Data(world.redactor.redact(config.stdoutText).utf8)
        try DurableFile.atomicWrite(ResolvedConfigMask.mask(redacted), to: world.runFolder.path + "/config.resolved.json", mode: 0o600)
        let images = Set(world.context.project.config.services.values.compactMap(\.image)).sorted()
        var digests: [String: String] = [:]
        for image in images {
            let inspect = try await world.runner.run(Command("docker", ["image", "inspect", "--format", "{{json .RepoDigests}} {{.Id}}", image], timeout: .seconds(60)))
            if inspect.termination.isSuccess { digests[image] = inspect.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let data = try JSONSerialization.data(withJSONObject: digests, options: [.prettyPrinted, .sortedKeys])
        try DurableFile.atomicWrite(data, to: world.runFolder.path + "/image-digests.json", mode: 0o600)
        return StepOutcome(summary: "\(manifest.entries.count) files saved")
    }
}
