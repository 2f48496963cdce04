import Foundation
import UpshiftCompose
import UpshiftSupport

/// A service other than the database on a postgres image that runs no server of its own — typically a
/// backup sidecar looping `pg_dump` against the database — and the image it moves to with the database.
///
/// It must move: `pg_dump` refuses a server of a newer major than itself ("aborting because of server
/// version mismatch"), so a sidecar left on the old image stops taking backups the moment the upgrade ends.
public struct SidecarImage: Sendable, Hashable {
    public var service: String
    public var image: ImageReference
    /// The image after the switch: same registry, repository and variant, the target major.
    public var target: ImageReference
    /// Where its image is written.
    public var source: ImageSource
    /// The service whose edit switches this one too (the database, or an earlier sidecar), because the image
    /// comes from the same `.env` variable; `nil` when the sidecar has an edit of its own.
    public var switchedBy: String?

    public init(service: String, image: ImageReference, target: ImageReference, source: ImageSource, switchedBy: String? = nil) {
        self.service = service
        self.image = image
        self.target = target
        self.source = source
        self.switchedBy = switchedBy
    }
}

/// How `switch-image` takes the sidecars along: each sidecar's image line (or `.env` variable) is edited
/// with the same editor as the database's, right after it, on the text that edit left; one `.env`
/// variable shared by several services is edited once. Compose's `config` must then resolve every
/// sidecar to its target image. Rollback needs nothing extra: the run snapshot holds every compose file and
/// `.env`, and restoring it puts all of them back byte for byte.
public enum SidecarImages {
    /// The image sources of the database's sidecars that can be located (for `ImageSwitch.plan(alongside:)`:
    /// the same image written on their lines is not ambiguous, they are switched too).
    public static func sources(of database: DatabaseService, project: ComposeProject, environment: [String: String]) -> [ImageSource] {
        database.sidecars.compactMap { project.imageSource(service: $0, environment: environment) }
    }

    /// The lines of `sources` in `file` that hold the image themselves (a literal or an inline default).
    static func lines(of sources: [ImageSource], in file: String) -> Set<Int> {
        Set(sources.compactMap { source -> Int? in
            switch source.kind {
            case .literal, .default: return source.file == file ? source.line : nil
            default: return nil
            }
        })
    }

    /// Preflight: the sidecars that move with the database to `targetMajor`, and notes for those left as
    /// they are (no major in the tag, or already at the target or later).
    ///
    /// - Throws: `UpshiftError` (nothing changed) when a sidecar's image line cannot be found.
    public static func resolve(
        database: DatabaseService, databaseSource: ImageSource, config: ComposeConfig, targetMajor: Int,
        locate: (String) -> ImageSource?
    ) throws -> (sidecars: [SidecarImage], notes: [String]) {
        var sidecars: [SidecarImage] = []
        var notes: [String] = []
        for service in database.sidecars {
            guard let text = config.services[service]?.image, let image = ImageReference(parsing: text) else { continue }
            guard let major = image.major else {
                notes.append("sidecar \(service) (\(text)) names no major version: left as it is; its pg_dump must be at least \(targetMajor)")
                continue
            }
            guard major < targetMajor, let target = try? ImageSwitch.targetImage(image, targetMajor: targetMajor) else {
                notes.append("sidecar \(service) (\(text)) is already at PostgreSQL \(major): left as it is")
                continue
            }
            guard let source = locate(service) else {
                throw UpshiftError(
                    "cannot find the line that defines the image of sidecar \(service) (\(text)); it must be switched with \(database.service), since its pg_dump must be at least the server's major",
                    hint: "give \(service) a plain `image:` line, or switch it by hand after the upgrade")
            }
            let sharer = ([(database.service, databaseSource)] + sidecars.map { ($0.service, $0.source) })
                .first { sameVariable($0.1, source) }?.0
            sidecars.append(SidecarImage(service: service, image: image, target: target, source: source, switchedBy: sharer))
        }
        return (sidecars, notes)
    }

    /// Whether both images come from the same `.env` variable: one edit switches both.
    static func sameVariable(_ a: ImageSource, _ b: ImageSource) -> Bool {
        guard case .envVariable(let nameA, let fileA, _) = a.kind, case .envVariable(let nameB, let fileB, _) = b.kind else { return false }
        return nameA == nameB && fileA == fileB
    }

    /// The sidecars' own edits, in order, each prepared on the text the database's edit (and the earlier
    /// sidecar edits) leave. Writes nothing.
    ///
    /// - Throws: the editor's refusal for a sidecar's line, as an `UpshiftError` naming the sidecar.
    public static func prepare(
        _ sidecars: [SidecarImage], after databaseEdit: ImageTagEdit, targetMajor: Int, environment: [String: String],
        read: (String) -> Data? = { FileManager.default.contents(atPath: $0) }
    ) throws -> [(sidecar: SidecarImage, edit: ImageTagEdit)] {
        var contents = [databaseEdit.file: databaseEdit.editedContents]
        let editor = ImageTagEditor(environment: environment)
        var edits: [(sidecar: SidecarImage, edit: ImageTagEdit)] = []
        for sidecar in sidecars where sidecar.switchedBy == nil {
            do {
                var target = try ImageTagEditTarget(source: sidecar.source)
                target.alsoSwitchedLines = lines(of: sidecars.map(\.source), in: target.file)
                guard let data = contents[target.file] ?? read(target.file) else {
                    throw ImageTagEditError(file: target.file, line: 0, reason: .unreadable)
                }
                let edit = try editor.edit(contents: data, target: target, change: .reference(sidecar.target.description))
                contents[target.file] = edit.editedContents
                edits.append((sidecar, edit))
            } catch let error as ImageTagEditError {
                throw UpshiftError(
                    "sidecar \(sidecar.service) (\(sidecar.image)) must be switched with the database, since its pg_dump must be at least the server's major, but its image cannot be edited: \(error)",
                    hint: "rewrite its line as a plain `image: repo:tag` (or a .env variable), or remove the sidecar for the upgrade")
            }
        }
        return edits
    }

    /// Plan notes of `switch-image`: one per sidecar, with the diff of its own edit.
    static func notes(_ world: PgUpgradeWorld, after databaseEdit: ImageTagEdit, environment: [String: String]) throws -> [String] {
        let context = world.context
        let edits = try prepare(context.sidecars, after: databaseEdit, targetMajor: context.options.targetMajor, environment: environment)
        return context.sidecars.map { sidecar in
            let note = "sidecar \(sidecar.service) (\(sidecar.image), runs no server) switched with it to \(sidecar.target): its pg_dump must be at least the server's major"
            if let sharer = sidecar.switchedBy { return note + " (same .env variable as \(sharer): the one edit covers it)" }
            let diff = edits.first { $0.sidecar.service == sidecar.service }.map { $0.edit.diff(label: $0.edit.file) } ?? ""
            return note + "\n" + diff
        }
    }

    /// Applies the sidecars' edits once the database's edit is on disk. On a refusal the run snapshot is
    /// put back and the error thrown, so no half-switched project is left.
    static func apply(_ world: PgUpgradeWorld, after databaseEdit: ImageTagEdit, environment: [String: String]) throws {
        let context = world.context
        do {
            let editor = ImageTagEditor(environment: environment)
            for (_, edit) in try prepare(context.sidecars, after: databaseEdit, targetMajor: context.options.targetMajor, environment: environment) {
                do { try editor.apply(edit) } catch let error as ImageTagEditError { throw error.upshiftError }
            }
        } catch {
            _ = try world.runFolder.restoreSnapshot()
            throw error
        }
    }

    /// After the edits: every sidecar must resolve to its target image in compose's `config`; else the
    /// snapshot is put back and the step fails.
    static func verify(_ config: ComposeConfig, _ world: PgUpgradeWorld) throws {
        let wrong = world.context.sidecars.compactMap { sidecar -> String? in
            let image = config.services[sidecar.service]?.image ?? "none"
            return image == sidecar.target.description ? nil : "\(sidecar.service) to \(image) instead of \(sidecar.target)"
        }
        guard wrong.isEmpty else {
            _ = try world.runFolder.restoreSnapshot()
            throw UpshiftError(
                "after editing, compose resolves sidecar \(wrong.joined(separator: ", ")); the files were put back",
                hint: "the image may also be set elsewhere (another -f file or the shell environment)")
        }
    }

    /// Pulls the sidecars' target images that differ from the database's (another variant), before any downtime.
    static func pull(_ sidecars: [SidecarImage], except databaseTarget: ImageReference, runner: any CommandRunning, progress: (String) -> Void) async throws {
        for image in Set(sidecars.map(\.target.description)).subtracting([databaseTarget.description]).sorted() {
            progress("pulling \(image) (sidecar)")
            let pull = try await runner.run(Command("docker", ["pull", image], timeout: .seconds(900)))
            guard pull.termination.isSuccess else {
                throw UpshiftError(
                    "the sidecar image \(image) cannot be pulled: \(pull.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(pull.termination)")",
                    hint: "check the tag exists in your registry (docker pull \(image)); nothing was changed")
            }
        }
    }
}
