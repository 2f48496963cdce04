import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// What every update step shares: the facts from preflight and the tools to act with.
public struct AppUpdateWorld: Sendable {
    public var context: AppUpdateContext
    public var runner: any CommandRunning
    public var runFolder: RunFolder
    public var environment: [String: String]

    public init(context: AppUpdateContext, runner: any CommandRunning, runFolder: RunFolder, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.context = context
        self.runner = runner
        self.runFolder = runFolder
        self.environment = environment
    }

    public var redactor: Redactor { context.redactor }
    public var dbService: String { context.database.service }
    /// The override that publishes the database on 127.0.0.1 with restart off (same file name as pg-upgrade).
    public var overridePath: String { runFolder.path + "/isolate.override.json" }
    public var backupRecordPath: String { runFolder.path + "/inventree-backup.json" }

    public var compose: ComposeOperations {
        ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool), redactor: redactor)
    }

    public var isolatedCompose: ComposeOperations {
        ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool, extraFiles: [overridePath]), redactor: redactor)
    }

    /// Invoke tasks during the window: the isolated database stays as it is (`--no-deps`).
    public var tasks: InvenTreeTasks { InvenTreeTasks(compose: isolatedCompose, server: context.appService, noDeps: true) }

    public var dump: DatabaseDump { DatabaseDump(compose: isolatedCompose, database: context.database) }

    /// The files the run snapshots and the tag edit may change.
    public var snapshotFiles: [String] { context.project.location.files + context.project.location.envFiles }

    public func waitForServer() async throws {
        let parameters = context.connection()
        try await Connection.waitUntilReady(parameters, deadline: .now + .seconds(context.options.readyTimeout))
        let deadline = ContinuousClock.now + .seconds(context.options.readyTimeout)
        while true {
            do {
                _ = try await Blocking.run { () throws -> Int in try Connection(parameters).serverMajor }
                return
            } catch let error as PostgresError where ContinuousClock.now < deadline && error.sqlState == "57P03" {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
