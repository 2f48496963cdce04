import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// What preflight learned before `update` changes anything; the plan is built from it alone.
public struct AppUpdateContext: Sendable {
    public var runID: RunID
    public var options: AppUpdateOptions
    public var project: ComposeProject
    public var handle: ComposeHandle
    public var database: DatabaseService
    public var app: AppProfile
    /// The service whose image tag changes (InvenTree: the server; the worker follows the same variable).
    public var appService: String
    /// Services running the same application image (InvenTree: server and workers).
    public var appServices: [String]
    public var imageSource: ImageSource
    public var currentImage: ImageReference
    public var targetImage: ImageReference
    /// InvenTree: the version `invoke version` reported; others: the tag read as a version, if it is one.
    public var currentVersion: InvenTreeVersion?
    public var targetVersion: InvenTreeVersion?
    /// Services other than the database that were running: stopped for the window, started again.
    public var runningApplicationServices: [String]
    public var databaseWasRunning: Bool
    public var backupDirectory: String
    public var hostPort: Int
    public var redactor: Redactor
    /// Warnings shown in the plan (stop-over releases, moving tags).
    public var warnings: [String]
    /// Why InvenTree's own `invoke backup` is left out (its image's `pg_dump` is older than the server, so it
    /// would abort the update); upshift's verified dump is then the only backup. `nil`: it runs.
    public var skipInvokeBackup: String?
    /// InvenTree: whether the containers reach their package index (`invoke update` or its steps without pip).
    public var packageIndex: PackageIndexProbe?
    /// Running services that are not database clients (a cache, a proxy): left running through the window.
    public var keptRunning: [String] = []

    public var isInvenTree: Bool { app.kind == .inventree }

    /// Where upshift's own dump goes.
    public var dumpPath: String { backupDirectory + "/\(project.name)-\(database.database)-\(runID.rawValue).dump" }

    /// Services to start at the end: what ran before, and the application itself.
    public var servicesToStart: [String] {
        Array(Set(runningApplicationServices + appServices)).sorted()
    }

    public func connection(database name: String = "postgres") -> ConnectionParameters {
        database.superuserConnection(host: "127.0.0.1", port: hostPort, database: name)
    }

    public var currentFlags: InvokeFlags? { currentVersion.map(InvokeFlags.init) }

    /// The flags for the pre-update `invoke backup`, or `nil` when it does not run (not InvenTree, or skipped).
    public var invokeBackupFlags: InvokeFlags? { isInvenTree && skipInvokeBackup == nil ? currentFlags : nil }
    public var targetFlags: InvokeFlags? { targetVersion.map(InvokeFlags.init) }

    /// The invoke tasks that migrate to the target version (see `InvokeFlags.updateTasks`).
    public var updateTasks: [[String]] {
        targetFlags?.updateTasks(packageIndexReachable: packageIndex?.reachable ?? true) ?? []
    }
}
