import Foundation
import UpshiftPlans

/// The plan of `upshift transfer`: the seed's "Migrating Data to a Different Database" between two compose
/// projects — export on the source, back up and initialise the target, import with `--clear`, copy the media,
/// verify record counts and media checksums — with the target rolled back (database from upshift's dump,
/// media from its archive) on any failure. The source is only read.
public struct TransferPlanner: Sendable {
    public var world: TransferWorld

    public init(world: TransferWorld) { self.world = world }

    public func steps() throws -> [ExecutableStep] {
        let importWorld = world.planningImportWorld
        let world = self.world
        var steps = [
            ExecutableStep(try TransferExportStep.planned(world), action: TransferExportStep(world: world)),
            ExecutableStep(TargetBackupStep.planned(importWorld), action: TargetBackupStep(world: importWorld)),
            ExecutableStep(try StopTargetApplicationStep.planned(importWorld), action: StopTargetApplicationStep(world: importWorld)),
            ExecutableStep(try MigrateTargetStep.planned(importWorld), action: MigrateTargetStep(world: importWorld)),
            ExecutableStep(try ImportRecordsStep.planned(importWorld), action: DeferredImportStep(world: world, make: { ImportRecordsStep(world: $0) })),
        ]
        if world.context.includeMedia {
            steps.append(ExecutableStep(try TransferMediaStep.planned(world), action: TransferMediaStep(world: world)))
        }
        steps.append(ExecutableStep(VerifyRecordCountsStep.planned(importWorld), action: DeferredImportStep(world: world, make: { VerifyRecordCountsStep(world: $0) })))
        if world.context.includeMedia {
            steps.append(ExecutableStep(VerifyMediaStep.planned(world), action: VerifyMediaStep(world: world)))
        }
        steps.append(ExecutableStep(try StartTargetApplicationStep.planned(importWorld), action: StartTargetApplicationStep(world: importWorld)))
        return steps
    }

    public func plan(command: String) throws -> Plan {
        let ctx = world.context
        var summary = [
            "source \(ctx.source.project.name) in \(ctx.source.directory) (only read)",
            "target \(ctx.target.project.name) in \(ctx.target.directory)",
            "InvenTree \(ctx.version) on both; plugins: \(ctx.plugins.isEmpty ? "none" : ctx.plugins.joined(separator: ", "))",
            "media: \(ctx.includeMedia ? "copied and verified" : "not copied (add --include-media)")",
            "upshift dump of the target: \(ctx.target.dumpPath(runID: ctx.runID))",
        ]
        summary += ctx.warnings.map { "WARNING: \($0)" }
        var planned = try steps().map(\.planned)
        if let index = planned.firstIndex(where: { $0.id == "import" }) {
            planned[index].notes = ["all records of the export, with --clear; plugin rows in a second pass after migrate when InvenTree < 1.3 and the file has any"]
        }
        return Plan(runID: ctx.runID, command: command, projectDirectory: ctx.target.directory, summary: summary, steps: planned)
    }
}
