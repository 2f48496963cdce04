import Foundation
import UpshiftApps
import UpshiftPlans

/// The plan of `upshift update`, in the order of InvenTree's "Migrating Data to Newer Version": back up,
/// stop, set the tag, pull, migrate, start, check the version — with a fingerprint before, and a rollback
/// that restores the old tag and the old database and proves it with that fingerprint.
public struct AppUpdatePlanner: Sendable {
    public var world: AppUpdateWorld

    public init(world: AppUpdateWorld) { self.world = world }

    /// The plan, built once and validated; `--dry-run` prints its `plan`, and a run executes it.
    public func plan() throws -> ExecutablePlan {
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
        let steps = try [
            SnapshotFilesStep(runFolder: world.runFolder, files: world.snapshotFiles, kind: "app.snapshot").executable,
            StopServicesStep(
                compose: world.compose, handle: context.handle, services: context.runningApplicationServices, running: context.runningApplicationServices,
                timeout: context.options.stopTimeout, kind: "app.stop").executable,
            UpdateIsolateDatabaseStep(world: world).executable,
            FingerprintDatabaseStep(
                id: "fingerprint", title: "Fingerprint the database (rows and checksum per table)", kind: "app.fingerprint",
                reach: "libpq to 127.0.0.1:\(context.hostPort); a rollback must reproduce it exactly",
                connection: { [context] in context.connection() }, savePath: FingerprintStep.path(world.runFolder, .before)).executable,
            AppBackupStep(world: world).executable,
            SetTagStep(world: world).executable,
            PullStep(world: world).executable,
            MigrateStep(world: world).executable,
            StartApplicationStep(world: world).executable,
            VerifyVersionStep(world: world).executable,
        ]
        return try ExecutablePlan(runID: context.runID, command: "update --to \(context.options.targetVersion)", projectDirectory: context.project.location.directory,
                                  summary: summary, steps: steps)
    }
}
