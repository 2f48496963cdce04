import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// What preflight learned about the deployment: every fact the steps need, gathered before anything
/// changes, so the plan shown by `--dry-run` is exactly the plan that runs.
public struct PgUpgradeContext: Sendable {
    public var runID: RunID
    public var options: PgUpgradeOptions
    public var project: ComposeProject
    public var handle: ComposeHandle
    public var database: DatabaseService
    public var imageSource: ImageSource
    public var oldMajor: Int
    public var targetImage: ImageReference
    public var placement: DataPlacement
    /// The service's `PGDATA` change in the compose file that the placement needs (`nil`: none).
    public var pgdataEdit: PGDATAEdit? = nil
    /// `--method invoke`: whether InvenTree's containers reach their package index (see `PackageIndexProbe`).
    public var packageIndex: PackageIndexProbe? = nil
    /// Init scripts hidden from the first start of a cluster made for a restore (`nil`: none to hide).
    public var initScriptMask: InitScriptMask? = nil
    /// Services other than the database that were running: stopped for the window, started again after.
    public var applicationServices: [String]
    /// Whether the database itself was running before the run.
    public var databaseWasRunning: Bool
    public var backupDirectory: String
    /// Host port published on 127.0.0.1 during the window so upshift can reach the server through libpq.
    public var hostPort: Int
    /// Sum of `pg_database_size`, the dump estimate.
    public var databaseBytes: Int64
    /// `du` of the data directory.
    public var dataBytes: Int64
    public var redactor: Redactor
    public var notes: [String]
    /// Parallel jobs, resolved (the option, or the engine host's cores).
    public var jobs: Int = 1
    /// Method pg_upgrade: the image with both majors' binaries and what preflight learned of it.
    public var upgradeTool: UpgradeTool? = nil
    /// The old server's container address, reachable from this host while the application still serves:
    /// set when preflight logged in there, so the dump and fingerprint can be taken before the window
    /// (`PrepareOnlineStep`). `nil` = everything happens inside the window.
    public var onlineAddress: String? = nil
    /// Services on the database's image that run no server (backup sidecars): switched with it.
    public var sidecars: [SidecarImage] = []
    /// How the window keeps other clients out (decided in preflight from the running container).
    public var isolation: WindowIsolation? = nil
    /// The old cluster's extensions read in preflight (every connectable database): checked against the target
    /// image before the window, updated and reported after it.
    public var extensions: [InstalledExtension] = []

    /// Where upshift reaches the old server before the window: its container address, port 5432 inside.
    public func onlineConnection(database name: String = "postgres") -> ConnectionParameters? {
        onlineAddress.map { database.superuserConnection(host: $0, port: 5432, database: name) }
    }

    /// Where upshift reaches the server during the window.
    public func connection(database name: String = "postgres") -> ConnectionParameters {
        database.superuserConnection(host: "127.0.0.1", port: hostPort, database: name)
    }

    public var dumpBaseName: String {
        "\(project.name)-pg\(oldMajor)-\(runID.rawValue)"
    }
}
