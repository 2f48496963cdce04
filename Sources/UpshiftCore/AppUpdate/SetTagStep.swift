import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Sets the application's tag: `INVENTREE_TAG` in `.env` (InvenTree), or the service's `image:` line, by
/// the minimal textual edit of `ImageTagEditor`; then compose is asked to confirm the result and the
/// files are put back at once when it is not exactly the target image.
struct SetTagStep: PlanStep {
    var world: AppUpdateWorld

    /// The prepared edit, or the editor's specific refusal as a usage error.
    static func prepare(source: ImageSource, tag: String, environment: [String: String]) throws -> ImageTagEdit {
        do {
            let target = try ImageTagEditTarget(source: source)
            return try ImageTagEditor(environment: environment).prepare(target, change: .tag(tag))
        } catch let error as ImageTagEditError {
            throw error.upshiftError
        }
    }

    func planned() throws -> PlannedStep {
        let edit = try Self.prepare(source: world.context.imageSource, tag: world.context.options.targetVersion, environment: world.environment)
        return PlannedStep(
            id: "set-tag", title: "Set \(world.context.appServices.joined(separator: ", ")) to \(world.context.targetImage)", kind: "app.set-tag",
            mutates: true, compensation: try RestoreSnapshotCompensator.spec(files: world.snapshotFiles), notes: [edit.diff(label: edit.file)])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let edit = try Self.prepare(source: world.context.imageSource, tag: world.context.options.targetVersion, environment: world.environment)
        do {
            try ImageTagEditor(environment: world.environment).apply(edit)
        } catch let error as ImageTagEditError {
            throw error.upshiftError
        }
        var cli = world.compose.cli
        let config: ComposeConfig
        do {
            config = try await cli.config()
        } catch {
            _ = try world.runFolder.restoreSnapshot()
            throw UpshiftError("after editing, docker compose rejects the project (\(error)); the files were put back")
        }
        let wrong = world.context.appServices.filter { config.services[$0]?.image.flatMap(ImageReference.init(parsing:)) != world.context.targetImage }
        guard wrong.isEmpty else {
            _ = try world.runFolder.restoreSnapshot()
            throw UpshiftError("after editing, compose resolves \(wrong.joined(separator: ", ")) to another image than \(world.context.targetImage); the files were put back",
                               hint: "the image may also be set elsewhere (another -f file or the shell environment)")
        }
        try world.runFolder.recordResult()
        return StepOutcome(summary: "\(edit.oldLine.trimmingCharacters(in: .whitespaces)) -> \(edit.newLine.trimmingCharacters(in: .whitespaces)) (\((edit.file as NSString).lastPathComponent):\(edit.lineNumber))")
    }
}

/// `docker compose pull` of the application services (their new image).
struct PullStep: PlanStep {
    var world: AppUpdateWorld

    func planned() -> PlannedStep {
        let command = world.compose.cli.command(["pull"] + world.context.appServices)
        return PlannedStep(id: "pull", title: "Pull \(world.context.targetImage)", kind: "app.pull",
                           commands: PlannedStep.render([command], redactor: world.redactor), mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await world.isolatedCompose.run(["pull"] + world.context.appServices, timeout: .seconds(1800))
        return StepOutcome(summary: "pulled \(world.context.targetImage)")
    }
}
