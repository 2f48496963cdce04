import Foundation
import UpshiftApps
import UpshiftPlans

/// The plan of `upshift update`, in the order of InvenTree's "Migrating Data to Newer Version": back up,
/// stop, set the tag, pull, migrate, start, check the version — with a fingerprint before, and a rollback
/// that restores the old tag and the old database and proves it with that fingerprint.
public struct AppUpdatePlanner: Sendable {
    public var world: AppUpdateWorld

    public init(world: AppUpdateWorld) { self.world = world }

    public func steps() throws -> [ExecutableStep] {
        [
            ExecutableStep(UpdateSnapshotStep.planned(world), action: UpdateSnapshotStep(world: world)),
            ExecutableStep(try UpdateStopApplicationStep.planned(world), action: UpdateStopApplicationStep(world: world)),
            ExecutableStep(try UpdateIsolateDatabaseStep.planned(world), action: UpdateIsolateDatabaseStep(world: world)),
            ExecutableStep(UpdateFingerprintStep.planned(world), action: UpdateFingerprintStep(world: world)),
            ExecutableStep(AppBackupStep.planned(world), action: AppBackupStep(world: world)),
            ExecutableStep(try SetTagStep.planned(world), action: SetTagStep(world: world)),
            ExecutableStep(PullStep.planned(world), action: PullStep(world: world)),
            ExecutableStep(try MigrateStep.planned(world), action: MigrateStep(world: world)),
            ExecutableStep(try StartApplicationStep.planned(world), action: StartApplicationStep(world: world)),
            ExecutableStep(VerifyVersionStep.planned(world), action: VerifyVersionStep(world: world)),
        ]
    }

    public func plan() throws -> Plan {
        let context = world.context
        var summary = [
            "project \(context.project.name) in \(context.project.location.directory)",
            context.isInvenTree
                ? "InvenTree \(context.currentVersion.map { "\($0)" } ?? "?") -> \(context.options.targetVersion) (\(context.appServices.joined(separator: ", ")))"
                : "service \(context.appService): \(context.currentImage) -> \(context.targetImage)",
            "database \(context.database.database) in \(context.database.service); upshift dump to \(context.dumpPath)",
            "application services stopped during the window: \(context.runningApplicationServices.isEmpty ? "none running" : context.runningApplicationServices.joined(separator: ", "))",
        ]
        if !context.keptRunning.isEmpty { summary.append("kept running through the window (no database access): \(context.keptRunning.joined(separator: ", "))") }
        if let index = context.packageIndex, !index.reachable {
            summary.append("\(index.summary): running update's steps without its pip install: \(InvokeFlags.describe(context.updateTasks))")
        }
        if let reason = context.skipInvokeBackup { summary.append("invoke backup left out: \(reason); upshift's verified dump is the backup") }
        summary += context.warnings.map { "WARNING: \($0)" }
        return Plan(runID: context.runID, command: "update --to \(context.options.targetVersion)", projectDirectory: context.project.location.directory,
                    summary: summary, steps: try steps().map(\.planned))
    }
}
