import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// What the transfer steps share.
public struct TransferWorld: Sendable {
    public var context: TransferContext
    /// The run folder, in the target project (the side that changes).
    public var runFolder: RunFolder

    public init(context: TransferContext, runFolder: RunFolder) {
        self.context = context
        self.runFolder = runFolder
    }

    public var exportPath: String { runFolder.path + "/export.json" }
    public var mediaArchivePath: String { runFolder.path + "/media-source.tar" }
    public var mediaSnapshotPath: String { runFolder.path + "/media-target-before.tar" }
    public var mediaHashesPath: String { runFolder.path + "/media-source.sha256" }

    /// The import half as known at plan time (the file's counts come from the export step).
    var planningImportWorld: RecordsImportWorld {
        RecordsImportWorld(context: context.importContext(file: RecordsFile(metadata: nil, counts: [:], invalidEntries: 0, bytes: 0), path: exportPath),
                           runFolder: runFolder, hostFile: exportPath)
    }

    /// The import half with the real export file.
    func importWorld() throws -> RecordsImportWorld {
        let (file, _) = try RecordsFile.read(path: exportPath)
        return RecordsImportWorld(context: context.importContext(file: file, path: exportPath), runFolder: runFolder, hostFile: exportPath)
    }
}

/// Export on the source into the target's run folder. Reads the source only.
struct TransferExportStep: PlanStep {
    var world: TransferWorld

    var export: RecordsExport {
        RecordsExport(endpoint: world.context.source, version: world.context.version, options: world.context.exportOptions, runID: world.context.runID)
    }

    func planned() throws -> PlannedStep {
        PlannedStep(id: "export", title: "Export records on the source \(world.context.source.project.name): invoke export-records", kind: "records.export",
                    commands: PlannedStep.render([try export.command()], redactor: world.context.source.redactor) + ["-> \(world.exportPath)"],
                    mutates: false, notes: ["the source's database is only read; the file passes through its backup dir and is removed there"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let result = try await export.run(to: world.exportPath, overwrite: false, progress: context.progress)
        for line in result.file.countLines { context.progress("  \(line)") }
        return StepOutcome(summary: "\(result.file.totalRecords) records of \(result.file.counts.count) models, \(ByteFormat.string(Int64(result.file.bytes))), sha256 \(result.sha256.prefix(16))…",
                           data: .object(["counts": try JSONValue(encoding: result.file.counts), "sha256": .string(result.sha256)]))
    }
}

/// An import step run with the import world built from the real export file, which only exists once the
/// export step ran; planned with the import world known at plan time (`TransferWorld.planningImportWorld`).
struct DeferredImportStep: PlanStep {
    var world: TransferWorld
    /// Replaces the import step's notes in the plan, which at plan time cannot describe the file.
    var notes: [String]? = nil
    var make: @Sendable (RecordsImportWorld) -> any PlanStep

    func planned() throws -> PlannedStep {
        var planned = try make(world.planningImportWorld).planned()
        if let notes { planned.notes = notes }
        return planned
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await make(try world.importWorld()).run(context)
    }
}

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

/// Per-file SHA-256 lists (and mode/owner per entry) of both media trees must agree for every source file.
struct VerifyMediaStep: PlanStep {
    var world: TransferWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "verify-media", title: "Verify media: per-file SHA-256, mode and owner on both sides", kind: "records.verify-media",
                    commands: ["find . -type f -exec sha256sum {} +  (in both media trees)", "find . -mindepth 1 -exec stat -c '%a %u:%g %n' {} +"], mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let source = MediaTree(endpoint: world.context.source), target = MediaTree(endpoint: world.context.target)
        async let sh = source.hashes()
        async let th = target.hashes()
        async let sa = source.attributes()
        async let ta = target.attributes()
        let (sourceHashes, targetHashes, sourceAttributes, targetAttributes) = try await (sh, th, sa, ta)
        let (missing, different, extra) = MediaTree.compare(sourceHashes, targetHashes)
        let attributeDiffs = sourceAttributes.keys.sorted().filter { targetAttributes[$0] != sourceAttributes[$0] }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("\(missing.count) files missing on the target (\(missing.prefix(3).joined(separator: ", ")))") }
        if !different.isEmpty { problems.append("\(different.count) files differ (\(different.prefix(3).joined(separator: ", ")))") }
        if !attributeDiffs.isEmpty {
            problems.append("\(attributeDiffs.count) entries differ in mode/owner (" + attributeDiffs.prefix(3).map { "\($0): \(sourceAttributes[$0]!) vs \(targetAttributes[$0] ?? "absent")" }.joined(separator: ", ") + ")")
        }
        guard problems.isEmpty else { throw UpshiftError("media copy is not identical: " + problems.joined(separator: "; ")) }
        let list = sourceHashes.keys.sorted().map { "\(sourceHashes[$0]!)  \($0)" }.joined(separator: "\n") + "\n"
        try? Data(list.utf8).write(to: URL(fileURLWithPath: world.mediaHashesPath))
        return StepOutcome(summary: "\(sourceHashes.count) files identical (SHA-256, mode, owner)" + (extra.isEmpty ? "" : "; \(extra.count) files only on the target kept"))
    }
}
