import Foundation
import UpshiftPlans

/// The plan of `upshift import`: back up the target (pg_dump), stop its application, import, verify the
/// record counts, start the application again. A failure restores the dump and restarts what ran.
public struct RecordsImportPlanner: Sendable {
    public var world: RecordsImportWorld

    public init(world: RecordsImportWorld) { self.world = world }

    /// The plan, built once and validated; `--dry-run` prints its `plan`, and a run executes it.
    public func plan(command: String) throws -> ExecutablePlan {
        let ctx = world.context
        var summary = [
            "target \(ctx.target.project.name) in \(ctx.target.directory): InvenTree \(ctx.version)",
            "file \(ctx.sourcePath): \(ctx.file.totalRecords) records, \(ctx.file.counts.count) models" + (ctx.file.metadata?.sourceVersion.map { ", exported by InvenTree \($0)" } ?? ""),
            "upshift dump of the target: \(ctx.dumpPath)",
        ]
        summary += ctx.warnings.map { "WARNING: \($0)" }
        let steps = try [
            TargetBackupStep(world: world).executable,
            StopServicesStep(target: world).executable,
            ImportRecordsStep(world: world).executable,
            VerifyRecordCountsStep(world: world).executable,
            StartTargetApplicationStep(world: world).executable,
        ]
        return try ExecutablePlan(runID: ctx.runID, command: command, projectDirectory: ctx.target.directory, summary: summary, steps: steps)
    }
}
