import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The journaled plan of `upshift restore`: stop the application (InvenTree: server and worker, so nothing
/// holds connections or migrates during `pg_restore --clean`), bring the database up, take a safety dump
/// of what is there now, restore the named backup, start the application again. Undo of the restore puts
/// the safety dump back.
public struct RestorePlanner: Sendable {
    public var context: RestoreContext
    public var runner: any CommandRunning

    public init(context: RestoreContext, runner: any CommandRunning) {
        self.context = context
        self.runner = runner
    }

    /// The plan, built once and validated; `--dry-run` prints its `plan`, and a run executes it.
    public func plan() throws -> ExecutablePlan {
        let c = context
        var summary = ["project \(c.project.name) in \(c.project.location.directory)", "database \(c.database.database) in \(c.database.service)"]
        switch c.source {
        case .inventree(let version, _, let dbFile, let mediaFile):
            summary.append("InvenTree \(version): restore \(dbFile)" + (mediaFile.map { " and \($0)" } ?? " (database only)"))
        case .dump(let path, _):
            summary.append("restore \(path)")
        }
        summary.append("safety dump of the current database: \(c.safetyDumpPath)")
        let world = RestoreWorld(context: context, runner: runner)
        let steps = try [
            StopServicesStep(
                compose: world.compose, handle: context.handle, services: context.applicationServices, running: context.runningApplicationServices,
                timeout: 60, kind: "restore.stop-app").executable,
            SafetyDumpStep(world: world).executable,
            RestoreBackupStep(world: world).executable,
            RestoreStartApplicationStep(world: world).executable,
        ]
        return try ExecutablePlan(runID: c.runID, command: "restore", projectDirectory: c.project.location.directory, summary: summary, steps: steps)
    }
}
