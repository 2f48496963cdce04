import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The edits that move the database service to the new major: the one image line or `.env` variable
/// (through `ImageTagEditor`), plus the `PGDATA` pin when the placement needs one.
public enum ImageSwitch {
    /// The prepared tag edit; throws the editor's specific refusal when the line is not safely editable.
    /// `alongside`: the image sources of the sidecars switched with it (the same image on their lines is not ambiguous).
    /// The edit to the family's first candidate for `targetMajor` (doctor, tests: no registry asked).
    public static func plan(source: ImageSource, current: ImageReference, targetMajor: Int, environment: [String: String] = ProcessInfo.processInfo.environment, alongside: [ImageSource] = []) throws -> ImageTagEdit {
        let target: ImageReference
        do { target = try targetImage(current, targetMajor: targetMajor) } catch let failure as TagRewriter.Failure {
            throw UpshiftError.usage("cannot derive the PostgreSQL \(targetMajor) tag of \(current): \(failure)", hint: "name the target with --image REF")
        }
        return try plan(source: source, target: target, current: current, environment: environment, alongside: alongside)
    }

    /// `target`: the resolved image (`TargetImage`); `current`: what the service runs now.
    public static func plan(source: ImageSource, target image: ImageReference, current: ImageReference, environment: [String: String] = ProcessInfo.processInfo.environment, alongside: [ImageSource] = []) throws -> ImageTagEdit {
        let edit: ImageTagEdit
        do {
            var target = try ImageTagEditTarget(source: source)
            target.alsoSwitchedLines = SidecarImages.lines(of: alongside, in: target.file)
            edit = try ImageTagEditor(environment: environment).prepare(target, change: .reference(image.description))
        } catch let error as ImageTagEditError {
            throw error.upshiftError
        }
        // A variable that holds only the tag (`postgres:${PG_TAG}`) cannot move the service to another repository.
        let bareTag = !edit.oldValue.contains(":") && !edit.oldValue.contains("/") && !edit.oldValue.contains("@")
        if bareTag, image.registry != current.registry || image.path != current.path {
            throw UpshiftError.usage(
                "the image of the database service is \(current.path):<\(edit.oldValue)> with only the tag in a variable (\(edit.file):\(edit.lineNumber)); \(image) is another repository",
                hint: "write the whole image reference on the image: line (or in the variable), then run again; nothing was changed")
        }
        return edit
    }

    /// The image the service will run: same registry and repository, the family's tag for the new major (its
    /// first candidate; `TargetImage.resolve` tries the others when the registry lacks it).
    public static func targetImage(_ image: ImageReference, targetMajor: Int) throws -> ImageReference {
        guard let tag = try (image.family ?? .custom).targetTags(from: image.tag, targetMajor: targetMajor).first else {
            throw UpshiftError.usage("image \(image) already names PostgreSQL \(targetMajor)")
        }
        return image.withTag(tag)
    }

    /// The compose file holding the service's `image:` line (where a PGDATA pin goes).
    public static func serviceFile(source: ImageSource) -> String? { source.file.isEmpty ? nil : source.file }
}

/// Change the image tag (and pin PGDATA when needed), re-read the project with `docker compose
/// config`, and put the files back at once when the result is not exactly the intended one.
struct SwitchImageStep: PlanStep {
    var world: PgUpgradeWorld
    var environment: [String: String]

    static func files(_ world: PgUpgradeWorld) -> [String] {
        world.context.project.location.files + world.context.project.location.envFiles
    }

    func planned() throws -> PlannedStep {
        let edit = try ImageSwitch.plan(source: world.context.imageSource, target: world.context.targetImage, current: world.database.image, environment: environment, alongside: world.context.sidecars.map(\.source))
        var notes = [edit.diff(label: edit.file)] + (try SidecarImages.notes(world, after: edit, environment: environment))
        if let pgdataEdit = world.context.pgdataEdit {
            let file = world.context.imageSource.file
            let contents = try String(contentsOfFile: file, encoding: .utf8)
            let edited = try PGDATAPin.apply(pgdataEdit, to: contents, imageLine: world.context.imageSource.line)
            notes.append("\(pgdataEdit.summary) for service \(world.service):\n" + TextDiff.unified(old: contents, new: edited, label: file))
        }
        return PlannedStep(
            id: "switch-image", title: "Switch \(world.service) to \(world.context.targetImage)", kind: "pg.switch-image",
            commands: [], mutates: true,
            compensation: try RestoreSnapshotCompensator.spec(files: Self.files(world)), notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let edit = try ImageSwitch.plan(source: world.context.imageSource, target: world.context.targetImage, current: world.database.image, environment: environment, alongside: world.context.sidecars.map(\.source))
        do {
            try ImageTagEditor(environment: environment).apply(edit)
        } catch let error as ImageTagEditError {
            throw error.upshiftError
        }
        FaultPoint.reach("switch-image:between-writes")
        try SidecarImages.apply(world, after: edit, environment: environment)
        if let pgdataEdit = world.context.pgdataEdit {
            let file = world.context.imageSource.file
            let contents = try String(contentsOfFile: file, encoding: .utf8)
            let pinned = try PGDATAPin.apply(pgdataEdit, to: contents, imageLine: world.context.imageSource.line)
            let attributes = try DurableFile.attributes(file)
            try DurableFile.atomicWrite(Data(pinned.utf8), to: file, mode: attributes.mode, owner: (attributes.uid, attributes.gid))
        }
        // Compose is the judge: the resolved service must run exactly the target image with the intended PGDATA.
        var cli = world.compose.cli
        let config: ComposeConfig
        do {
            config = try await cli.config()
        } catch {
            _ = try world.runFolder.restoreSnapshot()
            throw UpshiftError("after editing, docker compose rejects the project (\(error)); the files were put back")
        }
        let service = config.services[world.service]
        let image = service?.image ?? "none"
        let pgdata = service?.environmentValue("PGDATA")
        let expectedPGDATA = world.context.pgdataEdit?.value ?? (world.database.pgdataIsExplicit ? world.database.pgdata : nil)
        guard image == world.context.targetImage.description, pgdata == expectedPGDATA else {
            _ = try world.runFolder.restoreSnapshot()
            throw UpshiftError(
                "after editing, compose resolves \(world.service) to image \(image) PGDATA \(pgdata ?? "default") instead of \(world.context.targetImage) PGDATA \(expectedPGDATA ?? "default"); the files were put back",
                hint: "the image may also be set elsewhere (another -f file or the shell environment)")
        }
        try SidecarImages.verify(config, world)
        try world.runFolder.recordResult()
        return StepOutcome(summary: "\(edit.oldLine.trimmingCharacters(in: .whitespaces)) -> \(edit.newLine.trimmingCharacters(in: .whitespaces)) (\((edit.file as NSString).lastPathComponent):\(edit.lineNumber))")
    }
}
