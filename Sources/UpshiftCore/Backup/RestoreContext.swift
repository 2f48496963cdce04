import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What `upshift restore` restores, decided before anything changes.
public struct RestoreContext: Sendable {
    public enum Source: Sendable, Hashable {
        /// InvenTree: files in its backup directory, restored by `invoke restore` of the running version.
        case inventree(version: InvenTreeVersion, server: String, dbFile: String, mediaFile: String?)
        /// Others: an upshift dump on the host (and optionally a media archive into a host directory).
        case dump(path: String, media: (archive: String, directory: String)?)

        public static func == (a: Source, b: Source) -> Bool { "\(a)" == "\(b)" }
        public func hash(into hasher: inout Hasher) { hasher.combine("\(self)") }
    }

    public var runID: RunID
    public var project: ComposeProject
    public var handle: ComposeHandle
    public var database: DatabaseService
    public var source: Source
    /// Application services that were running: stopped for the restore (no connections, no auto-migrate), started after.
    public var runningApplicationServices: [String]
    /// Services that must be stopped even when not running now (InvenTree server and workers).
    public var applicationServices: [String]
    public var safetyDumpPath: String
    public var redactor: Redactor
    public var readyTimeout: Int

    /// Resolves the source and the services; nothing is changed.
    public static func prepare(project: ComposeProject, runner: any CommandRunning, runID: RunID, dbFile: String, mediaFile: String?,
                               mediaDirectory: String?, backupDirectory: String?, readyTimeout: Int = 180) async throws -> RestoreContext {
        let database = try project.database()
        var redactor = Redactor()
        redactor.add(database.password)
        let compose = ComposeOperations(cli: project.cli, redactor: redactor)
        let base = project.location.directory
        let backups = backupDirectory.map { $0.hasPrefix("/") ? $0 : base + "/" + $0 } ?? base + "/backups"
        let app = AppDetection.detect(in: project.config)
        let running = DatabaseClients.split(running: try await compose.runningServices(), config: project.config, database: database,
                                            applicationServices: app.applicationServices).stop
        let source: Source
        var appServices: [String] = []
        if app.kind == .inventree, let server = app.serverService {
            let tasks = InvenTreeTasks(compose: compose, server: server, noDeps: true)
            let version = try await tasks.version()
            try InvenTreeReleases.requireSupported(version, for: "restore")
            try InvenTreeReleases.requireRestoreByName(version)
            let listing = try await tasks.listBackupDirectory()
            for name in [dbFile] + (mediaFile.map { [$0] } ?? []) where !listing.names.contains(name) {
                throw UpshiftError.usage("no file \(name) in InvenTree's backup directory \(listing.directory)",
                                         hint: "pass the file name exactly as `upshift backup` printed it (a name, not a path)")
            }
            // The dump was written by the image's pg_dump and goes back through its pg_restore. A newer client
            // than the server writes settings the server does not know (PG17+: `SET transaction_timeout`), and
            // restoring into an older major is unsupported by PostgreSQL: refuse before anything changes.
            let client = try await tasks.clientMajor("pg_restore")
            if let server = database.imageMajor, client > server {
                throw UpshiftError.usage(
                    "the InvenTree \(version) image restores with pg_restore \(client), newer than the PostgreSQL \(server) server of \(database.service): restoring into an older major is not supported (a PG\(client) dump sets parameters PG\(server) does not know)",
                    hint: "upgrade the database first (upshift pg-upgrade --to \(client)), then restore")
            }
            source = .inventree(version: version, server: server, dbFile: dbFile, mediaFile: mediaFile)
            appServices = [server] + app.workerServices
        } else {
            let path = dbFile.hasPrefix("/") ? dbFile : base + "/" + dbFile
            guard FileManager.default.fileExists(atPath: path) else { throw UpshiftError.usage("no dump at \(path)") }
            var media: (String, String)?
            if let mediaFile {
                guard let mediaDirectory else { throw UpshiftError.usage("--media-file needs --media DIR (where the archive is extracted)") }
                let archive = mediaFile.hasPrefix("/") ? mediaFile : base + "/" + mediaFile
                guard FileManager.default.fileExists(atPath: archive) else { throw UpshiftError.usage("no archive at \(archive)") }
                media = (archive, mediaDirectory.hasPrefix("/") ? mediaDirectory : base + "/" + mediaDirectory)
            }
            source = .dump(path: path, media: media)
        }
        return RestoreContext(
            runID: runID, project: project, handle: ComposeHandle(project), database: database, source: source,
            runningApplicationServices: running, applicationServices: Array(Set(appServices + running)).sorted(),
            safetyDumpPath: backups + "/\(project.name)-\(database.database)-\(runID.rawValue).pre-restore.dump",
            redactor: redactor, readyTimeout: readyTimeout)
    }
}
