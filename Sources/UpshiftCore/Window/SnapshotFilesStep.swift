import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Byte-exact copies of the given files (the compose files and env files) in the run folder before anything
/// changes: what the undo of a file edit restores. Shared by pg-upgrade and update.
struct SnapshotFilesStep: PlanStep {
    var runFolder: RunFolder
    var files: [String]
    var kind: StepKind
    /// Also kept when set: the resolved config (masked) and the image digests, which a rollback of an image
    /// switch is checked against.
    var resolved: ResolvedState? = nil

    /// Where the resolved config and the image digests are read from.
    struct ResolvedState: Sendable {
        var compose: ComposeOperations
        var runner: any CommandRunning
        var images: [String]
    }

    func planned() -> PlannedStep {
        PlannedStep(
            id: "snapshot", title: resolved == nil ? "Snapshot compose files and .env" : "Snapshot compose files, .env, resolved config and image digests",
            kind: kind, mutates: false, notes: ["into \(runFolder.snapshotDirectory)"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let manifest = try runFolder.snapshot(files: files)
        if let resolved { try await keep(resolved) }
        return StepOutcome(summary: "\(manifest.entries.count) files saved")
    }

    private func keep(_ resolved: ResolvedState) async throws {
        let config = try await resolved.compose.run(["config", "--format", "json"], timeout: .seconds(60))
        // The resolved config holds the resolved environment: the database password is masked wherever it
        // appears, in every form (first, while it is whole: the structural mask below may cut a value with
        // spaces at the first one), then secret-named variables are blanked and credentials masked by their
        // place, whatever their length; the file is kept private.
        let redacted = Data(resolved.compose.redactor.redact(config.stdoutText).utf8)
        try DurableFile.atomicWrite(ResolvedConfigMask.mask(redacted), to: runFolder.path + "/config.resolved.json", mode: 0o600)
        var digests: [String: String] = [:]
        for image in resolved.images {
            let inspect = try await resolved.runner.run(Command("docker", ["image", "inspect", "--format", "{{json .RepoDigests}} {{.Id}}", image], timeout: .seconds(60)))
            if inspect.termination.isSuccess { digests[image] = inspect.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let data = try JSONSerialization.data(withJSONObject: digests, options: [.prettyPrinted, .sortedKeys])
        try DurableFile.atomicWrite(data, to: runFolder.path + "/image-digests.json", mode: 0o600)
    }
}
