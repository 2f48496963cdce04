import Foundation
import UpshiftPlans

/// The plan of `upshift transfer`: the seed's "Migrating Data to a Different Database" between two compose
/// projects — export on the source, back up and initialise the target, import with `--clear`, copy the media,
/// verify record counts and media checksums — with the target rolled back (database from upshift's dump,
/// media from its archive) on any failure. The source is only read.
public struct TransferPlanner: Sendable {
    public var world: TransferWorld

    public init(world: TransferWorld) { self.world = world }

    /// The plan, built once and validated; `--dry-run` prints its `plan`, and a run executes it.
    public func plan(command: String) throws -> ExecutablePlan {
        let ctx = world.context
        var summary = [
            "source \(ctx.source.project.name) in \(ctx.source.directory) (only read)",
            "target \(ctx.target.project.name) in \(ctx.target.directory)",
            "InvenTree \(ctx.version) on both; plugins: \(ctx.plugins.isEmpty ? "none" : ctx.plugins.joined(separator: ", "))",
            "media: \(ctx.includeMedia ? "copied and verified" : "not copied (add --include-media)")",
            "upshift dump of the target: \(ctx.target.dumpPath(runID: ctx.runID))",
        ]
        summary += ctx.warnings.map { "WARNING: \($0)" }
        return try ExecutablePlan(runID: ctx.runID, command: command, projectDirectory: ctx.target.directory, summary: summary, steps: try steps())
    }

    func steps() throws -> [ExecutableStep] {
        let importWorld = world.planningImportWorld
        let world = self.world
        let importNotes = ["all records of the export, with --clear; plugin rows in a second pass after migrate when InvenTree < 1.3 and the file has any"]
        var steps = try [
            TransferExportStep(world: world).executable,
            TargetBackupStep(world: importWorld).executable,
            StopServicesStep(target: importWorld).executable,
            MigrateTargetStep(world: importWorld).executable,
            DeferredImportStep(world: world, notes: importNotes, make: { ImportRecordsStep(world: $0) }).executable,
        ]
        if world.context.includeMedia { steps.append(try TransferMediaStep(world: world).executable) }
        steps.append(try DeferredImportStep(world: world, make: { VerifyRecordCountsStep(world: $0) }).executable)
        if world.context.includeMedia { steps.append(try VerifyMediaStep(world: world).executable) }
        steps.append(try StartTargetApplicationStep(world: importWorld).executable)
        return steps
    }
}
