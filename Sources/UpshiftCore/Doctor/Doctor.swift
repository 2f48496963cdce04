import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// `upshift doctor`: every preflight check of pg-upgrade and update, run without changing anything.
///
/// Read-only by construction: compose is only asked `version`, `config` and `ps`; SQL goes through
/// `docker compose exec psql` into a database that already runs; data is looked at by helper containers
/// that mount it read-only with `--network none`; images are inspected (`docker image inspect`,
/// `docker manifest inspect`), never pulled, and only local images are run. Each finding becomes one
/// `DoctorCheck`; nothing throws except a usage problem (no compose file, compose rejects the project).
public struct Doctor: Sendable {
    public var options: ComposeOptions
    /// `--to`; nil = the latest known major.
    public var targetMajor: Int?
    public var runner: any CommandRunning
    public var environment: [String: String]
    public var currentDirectory: String
    public var progress: @Sendable (String) -> Void

    public init(
        options: ComposeOptions, targetMajor: Int? = nil, runner: any CommandRunning,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.options = options
        self.targetMajor = targetMajor
        self.runner = runner
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.progress = progress
    }

    /// - Throws: `UpshiftError` (64) for `--to` out of range, no compose file, or a project compose rejects.
    public func run() async throws -> DoctorReport {
        let target = targetMajor ?? DatabaseService.latestMajor
        guard (10...DatabaseService.latestMajor).contains(target) else {
            throw UpshiftError.usage("--to \(target) is not a released PostgreSQL major (10 to \(DatabaseService.latestMajor))")
        }
        let location = try ComposeDiscovery(currentDirectory: currentDirectory, environment: environment).locate(options)
        var checks: [DoctorCheck] = []

        // Compose v2.
        let tool: ComposeTool
        do {
            tool = try await ComposeCLI.detect(runner: runner, environment: environment)
            checks.append(DoctorCheck(DoctorCheckID.compose, "docker compose v2", .pass, "docker compose \(tool.version) (\(tool.flavor == .plugin ? "docker CLI plugin" : "standalone docker-compose"))"))
        } catch let error as UpshiftError {
            checks.append(DoctorCheck(DoctorCheckID.compose, "docker compose v2", .fail, error.message, fix: error.hint))
            return DoctorReport(project: nil, directory: location.directory, targetMajor: target, checks: checks, unavailable: true)
        }
        var cli = ComposeCLI(runner: runner, tool: tool, location: location)
        let config = try await cli.config()
        let project = ComposeProject(location: location, cli: cli, config: config, options: options)
        var report = DoctorReport(project: config.name, directory: location.directory, targetMajor: target, checks: checks)

        // The engine.
        progress("asking the engine what runs (docker compose ps)")
        let containers = try? await cli.containers()
        if let containers {
            let running = containers.filter(\.isRunning).map(\.service)
            report.checks.append(DoctorCheck(DoctorCheckID.engine, "docker engine reachable", .pass,
                                             "the engine answers; running: \(running.isEmpty ? "nothing" : Array(Set(running)).sorted().joined(separator: ", "))"))
        } else {
            report.checks.append(DoctorCheck(DoctorCheckID.engine, "docker engine reachable", .fail,
                                             "docker compose ps failed: no docker engine answers (DOCKER_HOST=\(environment["DOCKER_HOST"] ?? "default"))",
                                             fix: "start the docker daemon or point DOCKER_HOST/the docker context at it"))
            report.unavailable = true
        }

        // The database service.
        let database: DatabaseService
        do {
            database = try project.database()
            report.checks.append(DoctorCheck(DoctorCheckID.dbService, "database service", .pass,
                                             "\(database.service) runs \(database.imageText); superuser \(database.superuser), database \(database.database)"))
        } catch let error as UpshiftError {
            report.checks.append(DoctorCheck(DoctorCheckID.dbService, "database service", .fail, error.message, fix: error.hint))
            report.checks.append(pendingRollback(location.directory))
            return report
        }
        report.checks.append(pendingRollback(location.directory))

        var redactor = Redactor()
        redactor.add(database.password)
        let compose = ComposeOperations(cli: project.cli, redactor: redactor)
        let images = DoctorImages(runner: runner)
        let upgrading = (database.imageMajor ?? target) < target
        let targetImage = (try? ImageSwitch.targetImage(database.image, targetMajor: target)) ?? database.image.withMajor(target)
        let dbRunning = containers?.contains { $0.service == database.service && $0.isRunning } ?? false

        var stage = DoctorStage(report: report, database: database, target: target, upgrading: upgrading, targetImage: targetImage,
                                dbRunning: dbRunning, engine: containers != nil)
        stage.initdbArgs = config.services[database.service]?.environmentValue("POSTGRES_INITDB_ARGS")
        // SQL through psql runs while the helper containers look at the files.
        let readCluster = stage.engine && dbRunning
        let psql = PsqlRunner(compose: compose, database: database)
        async let clusterRead: Result<DoctorClusterFacts, UpshiftError>? = readCluster ? Self.readCluster(psql, redactor: redactor) : nil
        if readCluster { progress("reading the cluster through psql in \(database.service)") }
        if let containers {
            await dataChecks(&stage, containers: containers)
        } else {
            stage.report.checks.append(DoctorRules.dataMount(database: database))
        }
        switch await clusterRead {
        case .success(let facts): stage.cluster = facts
        case .failure(let error): stage.clusterError = error.message
        case .none: break
        }
        await clusterChecks(&stage, images: images)
        await imageChecks(&stage, project: project, images: images)
        await serviceChecks(&stage, project: project, images: images)
        // Every finding quotes the deployment (commands, paths, errors): the password is masked in all of them.
        return stage.report.redacted(by: redactor)
    }

    static func readCluster(_ psql: PsqlRunner, redactor: Redactor) async -> Result<DoctorClusterFacts, UpshiftError> {
        do {
            return .success(try await DoctorClusterReader(psql: psql).read())
        } catch {
            return .failure(UpshiftError(redactor.redact(shortError(error))))
        }
    }

    /// The line that says what went wrong (psql's `ERROR:`/`FATAL:`), not the whole command line.
    static func shortError(_ error: any Error) -> String {
        let text = "\(error)"
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        if let line = lines.first(where: { $0.hasPrefix("ERROR:") || $0.hasPrefix("FATAL:") || $0.contains("psql: error") }) { return line }
        return lines.last.map { String($0.prefix(300)) } ?? text
    }

    func pendingRollback(_ directory: String) -> DoctorCheck {
        do {
            guard let (folder, state) = try RunFolder.runNeedingRollback(projectDirectory: directory) else {
                return DoctorRules.pendingRollback(runID: nil, command: nil, stoppedIn: nil, projectDirectory: directory)
            }
            return DoctorRules.pendingRollback(runID: folder.runID.rawValue, command: state.command, stoppedIn: state.inFlightStep?.id, projectDirectory: directory)
        } catch {
            return DoctorRules.pendingRollback(runID: nil, command: nil, stoppedIn: nil, projectDirectory: directory, error: "\(error)")
        }
    }
}

/// What the checks so far have learned, passed from one group of checks to the next.
struct DoctorStage: Sendable {
    var report: DoctorReport
    var database: DatabaseService
    var target: Int
    var upgrading: Bool
    var targetImage: ImageReference
    var dbRunning: Bool
    var engine: Bool
    var probe: DataProbe?
    var dataBytes: Int64?
    var placement: DataPlacement?
    var helperImage: String?
    var controlData: DoctorControlData?
    var cluster: DoctorClusterFacts?
    var clusterError: String?
    var targetImageLocal = false
    /// POSTGRES_INITDB_ARGS of the db service: what the new cluster's initdb will be given.
    var initdbArgs: String?

    init(report: DoctorReport, database: DatabaseService, target: Int, upgrading: Bool, targetImage: ImageReference, dbRunning: Bool, engine: Bool) {
        self.report = report
        self.database = database
        self.target = target
        self.upgrading = upgrading
        self.targetImage = targetImage
        self.dbRunning = dbRunning
        self.engine = engine
    }

    mutating func add(_ check: DoctorCheck) { report.checks.append(check) }
}

extension DoctorReport {
    /// The report with `redactor` applied to every finding and fix.
    func redacted(by redactor: Redactor) -> DoctorReport {
        var copy = self
        copy.checks = checks.map { check in
            var check = check
            check.found = redactor.redact(check.found)
            check.fix = check.fix.map(redactor.redact)
            return check
        }
        return copy
    }
}
