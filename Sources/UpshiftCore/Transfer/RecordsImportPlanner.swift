import Foundation
import UpshiftPlans

/// The plan of `upshift import`: back up the target (pg_dump), stop its application, import, verify the
/// record counts, start the application again. A failure restores the dump and restarts what ran.
public struct RecordsImportPlanner: Sendable {
    public var world: RecordsImportWorld

    public init(world: RecordsImportWorld) { self.world = world }

    public func steps() throws -> [ExecutableStep] {
        [
            ExecutableStep(TargetBackupStep.planned(world), action: TargetBackupStep(world: world)),
            ExecutableStep(try StopTargetApplicationStep.planned(world), action: StopTargetApplicationStep(world: world)),
            ExecutableStep(try ImportRecordsStep.planned(world), action: ImportRecordsStep(world: world)),
            ExecutableStep(VerifyRecordCountsStep.planned(world), action: VerifyRecordCountsStep(world: world)),
            ExecutableStep(try StartTargetApplicationStep.planned(world), action: StartTargetApplicationStep(world: world)),
        ]
    }

    public func plan(command: String) throws -> Plan {
        let ctx = world.context
        var summary = [
            "target \(ctx.target.project.name) in \(ctx.target.directory): InvenTree \(ctx.version)",
            "file \(ctx.sourcePath): \(ctx.file.totalRecords) records, \(ctx.file.counts.count) models" + (ctx.file.metadata?.sourceVersion.map { ", exported by InvenTree \($0)" } ?? ""),
            "upshift dump of the target: \(ctx.dumpPath)",
        ]
        summary += ctx.warnings.map { "WARNING: \($0)" }
        return Plan(runID: ctx.runID, command: command, projectDirectory: ctx.target.directory, summary: summary, steps: try steps().map(\.planned))
    }
}

