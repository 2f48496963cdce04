import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// `upshift backup`: InvenTree's own `invoke backup` with the exact new file names recorded (listing the
/// backup directory before and after) and hashed; or, for other applications, a tool-level `pg_dump -Fc`
/// plus a media tar when a media directory is given. Never changes the running stack.
public struct BackupRunner: Sendable {
    public struct Result: Sendable {
        public var inventree: InvenTreeBackupRecord?
        public var files: [DumpFile]
        /// Where the InvenTree record (JSON) was written.
        public var recordPath: String?
    }

    public var project: ComposeProject
    public var runner: any CommandRunning
    public var runID: RunID
    public var backupDirectory: String
    public var mediaDirectory: String?
    public var progress: @Sendable (String) -> Void

    public init(project: ComposeProject, runner: any CommandRunning, runID: RunID, backupDirectory: String?, mediaDirectory: String?, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.project = project
        self.runner = runner
        self.runID = runID
        let base = project.location.directory
        self.backupDirectory = backupDirectory.map { $0.hasPrefix("/") ? $0 : base + "/" + $0 } ?? base + "/backups"
        self.mediaDirectory = mediaDirectory.map { $0.hasPrefix("/") ? $0 : base + "/" + $0 }
        self.progress = progress
    }

    public func run() async throws -> Result {
        let database = try project.database()
        var redactor = Redactor()
        redactor.add(database.password)
        let compose = ComposeOperations(cli: project.cli, redactor: redactor)
        let app = AppDetection.detect(in: project.config)
        if app.kind == .inventree, let server = app.serverService {
            let tasks = InvenTreeTasks(compose: compose, server: server)
            progress("asking \(server) for its version (invoke version)")
            let version = try await InvenTreeTasks(compose: compose, server: server, noDeps: true).version()
            try InvenTreeReleases.requireSupported(version, for: "back up")
            progress("invoke backup (InvenTree \(version))")
            var record = try await tasks.backup(flags: InvokeFlags(version: version), progress: progress)
            record.hostDirectory = InvenTreeTasks.hostPath(of: record.directory, service: project.config.services[server])
            try FileManager.default.createDirectory(atPath: backupDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let path = backupDirectory + "/\(project.name)-invoke-backup-\(runID.rawValue).json"
            try record.write(to: path)
            return Result(inventree: record, files: [], recordPath: path)
        }
        let running = try await compose.runningServices()
        guard running.contains(database.service) else {
            throw UpshiftError("the database service \(database.service) is not running", hint: "start it (docker compose up -d \(database.service)), then run the backup")
        }
        var files: [DumpFile] = []
        let dump = DatabaseDump(compose: compose, database: database)
        files.append(try await dump.dump(to: backupDirectory + "/\(project.name)-\(database.database)-\(runID.rawValue).dump", progress: progress))
        if let mediaDirectory {
            progress("tar of \(mediaDirectory)")
            files.append(try await MediaArchive.create(directory: mediaDirectory, archive: backupDirectory + "/\(project.name)-media-\(runID.rawValue).tar.gz", runner: runner))
        }
        return Result(inventree: nil, files: files, recordPath: nil)
    }
}
