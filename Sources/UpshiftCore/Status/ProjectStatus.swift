import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

/// Everything `upshift status` shows, as plain data (printed by the command, or as `--json`).
public struct ProjectStatus: Sendable, Codable {
    public struct Service: Sendable, Hashable, Codable {
        public var name: String
        public var image: String?
        /// Container states from `ps` (`running`, `exited` …); `nil` when no engine answered.
        public var states: [String]?
        public var health: String?
    }

    public struct Database: Sendable, Codable {
        public var service: DatabaseService
        public var imageSource: ImageSource?
        /// What the data directory holds; `nil` when it could not be looked at (see `probeError`).
        public var onDisk: DataProbe?
        public var probeError: String?
        /// Set when the image's own VOLUME holds the cluster instead of the compose mount (then `onDisk` is not read).
        public var imageVolumeShadow: ImageVolumeShadow?
        public var sizeBytes: Int64?
        /// Set when the image major differs from the cluster on disk.
        public var mismatch: MajorMismatch?
    }

    /// The classic breakage: the tag was bumped without migrating the data.
    public struct MajorMismatch: Sendable, Hashable, Codable {
        public var imageMajor: Int
        public var dataMajor: Int
        public var message: String
        public var advice: [String]
    }

    /// A past run from the audit log.
    public struct PastRun: Sendable, Hashable, Codable {
        public var runID: String
        public var command: String
        public var startedAt: String
        public var outcome: String

        public init(runID: String, command: String, startedAt: String, outcome: String) {
            self.runID = runID
            self.command = command
            self.startedAt = startedAt
            self.outcome = outcome
        }
    }

    public var project: String
    public var directory: String
    public var files: [String]
    public var fileSource: ComposeProjectLocation.FileSource
    public var envFiles: [String]
    public var compose: ComposeTool
    /// False when `docker compose ps` failed (no engine): states and on-disk facts are then unknown.
    public var engineReachable: Bool
    public var services: [Service]
    public var database: Database
    public var app: AppProfile
    /// `nil` when the audit log cannot be read (see `StatusCollector.lastRuns`).
    public var lastRuns: [PastRun]?
    /// What compose warned about while resolving the project (an unset variable is often the real problem).
    public var composeWarnings: [String] = []
}

/// Gathers a `ProjectStatus`: reads compose's model, asks the engine what runs, looks at the data through
/// helper containers. Nothing is changed.
public struct StatusCollector: Sendable {
    public var project: ComposeProject
    public var runner: any CommandRunning
    public var environment: [String: String]
    /// Reads the last runs from the audit log. A seam: the Audit layer plugs in here; `nil` = unknown.
    public var lastRuns: @Sendable (_ projectDirectory: String) -> [ProjectStatus.PastRun]?

    public init(
        project: ComposeProject, runner: any CommandRunning,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        lastRuns: @escaping @Sendable (String) -> [ProjectStatus.PastRun]? = { _ in nil }
    ) {
        self.project = project
        self.runner = runner
        self.environment = environment
        self.lastRuns = lastRuns
    }

    /// - Throws: `UpshiftError` when the database service cannot be chosen (no postgres service, several
    ///   without `--db-service` …). Engine problems are reported in the status, not thrown.
    public func collect() async throws -> ProjectStatus {
        let config = project.config
        let db = try project.database()

        let containers = try? await project.cli.containers()
        let services = config.serviceNames.map { name -> ProjectStatus.Service in
            let mine = containers?.filter { $0.service == name }
            return ProjectStatus.Service(
                name: name, image: config.services[name]?.image, states: mine?.map(\.state),
                health: mine?.compactMap(\.health).first)
        }

        var database = ProjectStatus.Database(
            service: db, imageSource: project.imageSource(service: db.service, environment: environment))
        let dbContainer = containers?.first { $0.service == db.service }
        if containers != nil, let shadow = await ImageVolumeShadow.detect(database: db, containerName: dbContainer?.name, containerImage: dbContainer?.image, runner: runner) {
            database.imageVolumeShadow = shadow
        } else if containers != nil {
            let containerImages = containers?.filter { $0.service == db.service }.compactMap(\.image) ?? []
            let helperImage = await DataDirectoryOperations.chooseHelperImage([db.imageText] + containerImages, runner: runner)
            let ops = DataDirectoryOperations(runner: runner, image: helperImage ?? db.imageText)
            do {
                // With an 18+ image on a pre-18 mount, the cluster that matters is the old one.
                let location = db.dataLocation.isPersistent ? db.dataLocation : (db.legacyLayoutLocation ?? db.dataLocation)
                // Both helpers at once: each container start costs seconds on a slow storage driver.
                async let size = try? ops.size(location)
                let probe = try await ops.probe(location)
                database.onDisk = probe
                let bytes = await size
                if case .cluster = probe { database.sizeBytes = bytes ?? nil }
            } catch {
                database.probeError = "\(error)"
            }
        } else {
            database.probeError = "no docker engine answered (docker compose ps failed); on-disk data not checked"
        }
        if let imageMajor = db.imageMajor, let dataMajor = database.onDisk?.major, imageMajor != dataMajor {
            database.mismatch = Self.mismatch(db: db, imageMajor: imageMajor, dataMajor: dataMajor)
        }
        return ProjectStatus(
            project: config.name, directory: project.location.directory, files: project.location.files,
            fileSource: project.location.fileSource, envFiles: project.location.envFiles, compose: project.tool,
            engineReachable: containers != nil, services: services, database: database, app: AppDetection.detect(in: config),
            lastRuns: lastRuns(project.location.directory), composeWarnings: project.cli.configWarnings)
    }

    static func mismatch(db: DatabaseService, imageMajor: Int, dataMajor: Int) -> ProjectStatus.MajorMismatch {
        if imageMajor > dataMajor {
            return ProjectStatus.MajorMismatch(
                imageMajor: imageMajor, dataMajor: dataMajor,
                message: "the image of \"\(db.service)\" is PostgreSQL \(imageMajor) but the data on disk is a PostgreSQL \(dataMajor) cluster: "
                    + "the tag was bumped without migrating the data; the server will refuse to start on it",
                advice: [
                    "put the image tag back to \(dataMajor) (\(db.image.withMajor(dataMajor).description)) so the database starts again",
                    "then upgrade properly: upshift pg-upgrade --to \(imageMajor)",
                ])
        }
        return ProjectStatus.MajorMismatch(
            imageMajor: imageMajor, dataMajor: dataMajor,
            message: "the image of \"\(db.service)\" is PostgreSQL \(imageMajor) but the data on disk is PostgreSQL \(dataMajor): "
                + "an older server cannot read a newer cluster",
            advice: [
                "set the image tag back to \(dataMajor) (\(db.image.withMajor(dataMajor).description))",
                "if a rollback was intended, use upshift rollback",
            ])
    }
}
