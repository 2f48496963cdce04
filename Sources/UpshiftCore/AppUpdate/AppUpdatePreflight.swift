import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Every check that must pass before `update` changes anything: which app and service, which version runs
/// now (tag and `invoke version`), that the target is newer (or `--allow-downgrade`), that the tag is
/// safely editable, and that the target image can be pulled. Nothing is touched when it throws.
public struct AppUpdatePreflight: Sendable {
    public var project: ComposeProject
    public var options: AppUpdateOptions
    public var runner: any CommandRunning
    public var runID: RunID
    public var environment: [String: String]
    public var progress: @Sendable (String) -> Void

    public init(project: ComposeProject, options: AppUpdateOptions, runner: any CommandRunning, runID: RunID,
                environment: [String: String] = ProcessInfo.processInfo.environment, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.project = project
        self.options = options
        self.runner = runner
        self.runID = runID
        self.environment = environment
        self.progress = progress
    }

    public func run() async throws -> AppUpdateContext {
        let database = try project.database()
        var redactor = Redactor()
        redactor.add(database.password)
        let compose = ComposeOperations(cli: project.cli, redactor: redactor)
        let app = AppDetection.detect(in: project.config)
        var warnings: [String] = []

        // Which service changes.
        let appService: String
        var appServices: [String]
        if let chosen = options.service {
            guard project.config.services[chosen] != nil else {
                throw UpshiftError.usage("no service \(chosen) in the project (services: \(project.config.serviceNames.joined(separator: ", ")))")
            }
            guard chosen != database.service else {
                throw UpshiftError.usage("\(chosen) is the database service; use `upshift pg-upgrade` to change PostgreSQL")
            }
            appService = chosen
        } else if app.kind == .inventree, let server = app.serverService {
            appService = server
        } else {
            throw UpshiftError.usage("this is not an InvenTree deployment: name the application service whose image changes with --service",
                                     hint: "services: \(project.config.serviceNames.filter { $0 != database.service }.joined(separator: ", "))")
        }
        guard let imageText = project.config.services[appService]?.image, let currentImage = ImageReference(parsing: imageText) else {
            throw UpshiftError.usage("service \(appService) has no image to update")
        }
        if currentImage.digest != nil {
            throw UpshiftError.usage("the image of \(appService) is pinned by digest (\(imageText)); changing the tag would change nothing", hint: "pin a tag instead")
        }
        appServices = project.config.serviceNames.filter { name in
            project.config.services[name]?.image.flatMap(ImageReference.init(parsing:)) == currentImage
        }
        if !appServices.contains(appService) { appServices.append(appService) }
        if let refusal = BuiltImageRefusal.appUpdate(services: appServices, config: project.config, target: currentImage.withTag(options.targetVersion).description) {
            throw refusal
        }
        let isInvenTree = app.kind == .inventree && (app.serverService == appService || app.workerServices.contains(appService))

        // The tag must be editable, and the edit must be the whole story (the worker follows INVENTREE_TAG).
        guard let source = project.imageSource(service: appService, environment: environment) else {
            throw UpshiftError("cannot find the line that defines the image of \(appService) in \(project.location.files.joined(separator: ", "))")
        }
        _ = try SetTagStep.prepare(source: source, tag: options.targetVersion, environment: environment)
        let targetImage = currentImage.withTag(options.targetVersion)

        // Versions.
        var currentVersion = currentImage.tag.flatMap(InvenTreeVersion.init(parsing:))
        let targetVersion = InvenTreeVersion(parsing: options.targetVersion)
        let running = try await compose.runningServices()
        var skipInvokeBackup: String?
        var packageIndex: PackageIndexProbe?
        if isInvenTree {
            guard let target = targetVersion else {
                throw UpshiftError.usage("--to \(options.targetVersion) is not an InvenTree release number", hint: "name the exact release, e.g. --to 1.0.0")
            }
            let tasks = InvenTreeTasks(compose: compose, server: appService, noDeps: true)
            progress("asking \(appService) for its version (invoke version)")
            let reported = try await tasks.version()
            if let tagged = currentVersion, tagged != reported {
                warnings.append("the tag says \(tagged) but `invoke version` reports \(reported); using \(reported)")
            }
            if currentVersion == nil { warnings.append("the tag \(currentImage.tag ?? "latest") is a moving tag; it runs InvenTree \(reported)") }
            currentVersion = reported
            try InvenTreeReleases.requireSupported(reported, for: "update")
            try InvenTreeReleases.requireSupported(target, for: "update to")
            if target == reported {
                throw UpshiftError.usage("InvenTree is already at \(reported)", hint: "nothing to update")
            }
            if target < reported && !options.allowDowngrade {
                throw UpshiftError.usage(
                    "--to \(target) is older than the running InvenTree \(reported): a database migrated by \(reported) cannot be run by \(target)",
                    hint: "to go back after an update use `upshift rollback`; --allow-downgrade forces it")
            }
            skipInvokeBackup = try await Self.invokeBackupProblem(tasks: tasks, image: currentImage, serverMajor: database.imageMajor, progress: progress)
            let index = try await PackageIndexProbe.run(tasks, progress: progress)
            if let warning = index.pluginWarning { warnings.append(warning) }
            packageIndex = index
            if let stop = reported.stopOver(to: target) {
                warnings.append("InvenTree \(reported) -> \(target) skips the required \(stop.major).\(stop.minor).x stop-over (squashed migrations, InvenTree docs 'migrate'); update to \(stop) first, then to \(target)")
            }
        } else if let current = currentVersion, let target = targetVersion {
            if target < current && !options.allowDowngrade {
                throw UpshiftError.usage("--to \(options.targetVersion) is older than the running tag \(currentImage.tag ?? "")", hint: "--allow-downgrade forces it")
            }
        }
        if currentImage.tag == options.targetVersion {
            throw UpshiftError.usage("\(appService) already runs \(imageText)")
        }

        // The target image must be obtainable before any downtime.
        progress("pulling \(targetImage)")
        let pull = try await runner.run(Command("docker", ["pull", targetImage.description], timeout: .seconds(900)))
        guard pull.termination.isSuccess else {
            throw UpshiftError(
                "the target image \(targetImage) cannot be pulled: \(pull.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(pull.termination)")",
                hint: "check that the release exists in your registry; nothing was changed", exitCode: .unavailable)
        }

        let clients = DatabaseClients.split(running: running, config: project.config, database: database, applicationServices: appServices)
        let backupDirectory = options.backupDirectory.map { $0.hasPrefix("/") ? $0 : project.location.directory + "/" + $0 }
            ?? project.location.directory + "/backups"
        return AppUpdateContext(
            runID: runID, options: options, project: project, handle: ComposeHandle(project), database: database, app: app,
            appService: appService, appServices: appServices.sorted(), imageSource: source, currentImage: currentImage, targetImage: targetImage,
            currentVersion: currentVersion, targetVersion: targetVersion,
            runningApplicationServices: clients.stop, databaseWasRunning: running.contains(database.service),
            backupDirectory: backupDirectory, hostPort: try PgUpgradePreflight.freePort(), redactor: redactor, warnings: warnings)
            .with(isInvenTree: isInvenTree, skipInvokeBackup: skipInvokeBackup, keptRunning: clients.keep, packageIndex: packageIndex)
    }

    /// Why `invoke backup` cannot run before the update, or `nil` when it can. The app image ships one client
    /// major (0.17.0: 13, 1.x: 17), and a `pg_dump` older than the server aborts ("server version mismatch",
    /// InvenTree #9391, #9647), which would abort the update: upshift's own dump stands in, and the plan says so.
    static func invokeBackupProblem(tasks: InvenTreeTasks, image: ImageReference, serverMajor: Int?, progress: @Sendable (String) -> Void) async throws -> String? {
        progress("checking the pg_dump major in \(image)")
        let client: Int
        do {
            client = try await tasks.clientMajor("pg_dump")
        } catch let error as UpshiftError {
            return "its image's pg_dump cannot be run (\(error.message))"
        }
        guard let serverMajor, client < serverMajor else { return nil }
        return "\(image) ships pg_dump \(client), older than the PostgreSQL \(serverMajor) server, and would abort (\"server version mismatch\")"
    }
}

extension AppUpdateContext {
    /// A generic service that borrows an InvenTree image is not driven through invoke.
    func with(isInvenTree: Bool, skipInvokeBackup: String?, keptRunning: [String], packageIndex: PackageIndexProbe?) -> AppUpdateContext {
        var copy = self
        copy.keptRunning = keptRunning
        copy.packageIndex = isInvenTree ? packageIndex : nil
        if !isInvenTree { copy.app = AppProfile(kind: .generic) }
        copy.skipInvokeBackup = isInvenTree ? skipInvokeBackup : nil
        return copy
    }
}
