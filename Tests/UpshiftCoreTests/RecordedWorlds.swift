import Foundation
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// A compose fixture (`Fixtures/compose/<case>`) copied to a private temp directory laid out as
/// `<root>/srv/<case>`, so the project sits at the same absolute path its captured `config.json` names
/// (`/srv/<case>/…`) once `<root>` is cut off. The planners read the compose file and `.env` for real (the
/// image-tag edit and its diff), hence the copy; `normalise` turns every path of it back into `/srv/<case>`
/// so golden text does not depend on the machine. The directory is removed when the value goes away.
final class RecordedDeployment: Sendable {
    let fixture: String
    /// The temp root that `normalise` removes.
    let root: String
    /// `<root>/srv/<fixture>`: the project directory as the planners see it.
    let directory: String

    /// - Parameter name: the project directory's name under `/srv` (default: the fixture's).
    init(_ fixture: String, as name: String? = nil) throws {
        self.fixture = fixture
        let temp = URL(fileURLWithPath: FileManager.default.temporaryDirectory.path).resolvingSymlinksInPath().path
        root = temp + "/upshift-golden-\(UUID().uuidString.prefix(8))"
        directory = root + "/srv/" + (name ?? fixture)
        try FileManager.default.createDirectory(atPath: root + "/srv", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ComposeFixtures.directory(fixture), toPath: directory)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The project with compose's discovery result for the fixture: its one compose file and `.env` when present.
    func project(runner: any CommandRunning, name: String? = nil) throws -> ComposeProject {
        var config = try ComposeFixtures.config(fixture)
        if let name { config.name = name }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let files = ComposeDiscovery.defaultFileNames.filter(names.contains).prefix(1).map { directory + "/" + $0 }
            + ComposeDiscovery.overrideFileNames.filter(names.contains).prefix(1).map { directory + "/" + $0 }
        let envFiles = names.contains(".env") ? [directory + "/.env"] : []
        let location = ComposeProjectLocation(directory: directory, files: files, fileSource: .discovered, explicitProjectName: nil, envFiles: envFiles)
        let cli = ComposeCLI(runner: runner, tool: RecordedWorlds.composeTool, location: location, projectName: config.name)
        return ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions())
    }

    /// The run folder of `runID` in the project (a path only: planning creates nothing).
    func runFolder(_ runID: RunID = RecordedWorlds.runID) -> RunFolder { RunFolder(projectDirectory: directory, runID: runID) }

    /// Machine-independent text: the temp root cut off, so the project reads `/srv/<fixture>`.
    func normalise(_ text: String) -> String { text.replacingOccurrences(of: root, with: "") }
}

/// The recorded worlds the golden plans are made from: every planner input as preflight would have found it on
/// a fixed deployment, built without docker (nothing runs: the runners are strict `RecordingRunner`s without
/// stubs, except `update`, whose real preflight runs against recorded engine answers).
enum RecordedWorlds {
    static let runID = RunID("20261201-090000-a1b2")!
    static let composeTool = ComposeTool(flavor: .plugin, version: ComposeVersion(major: 2, minor: 29, patch: 0))
    static let mib: Int64 = 1 << 20

    // MARK: - pg-upgrade

    /// How the old server was found in preflight: the facts that are read from a running engine.
    struct PgUpgradeFacts {
        var options: PgUpgradeOptions
        /// The image `TargetImage.resolve` settled on.
        var targetImage: String
        /// Running services (`docker compose ps`), the database included.
        var running: [String]
        /// The container's address when preflight logged in there (online preparation); `nil`: window only.
        var onlineAddress: String?
        /// Why not online, as preflight notes it.
        var offlineReason: String?
        var exposure: ContainerExposure
        var jobs: Int = 1
        var databaseBytes: Int64 = 48 * RecordedWorlds.mib
        var dataBytes: Int64 = 112 * RecordedWorlds.mib
        var extensions: [InstalledExtension] = []
        var packageIndex: PackageIndexProbe? = nil
    }

    /// A pg-upgrade world on `deployment`, decided the way `PgUpgradePreflight.run` decides (the same placement,
    /// PGDATA edit, client split, isolation and notes), from `facts` instead of a running engine.
    static func pgUpgrade(_ deployment: RecordedDeployment, _ facts: PgUpgradeFacts) throws -> PgUpgradeWorld {
        let runner = RecordingRunner(strict: true)
        let project = try deployment.project(runner: runner)
        let database = try project.database()
        var redactor = Redactor()
        redactor.add(database.password)
        let options = facts.options
        guard let source = project.imageSource(service: database.service, environment: [:]), let oldMajor = database.imageMajor,
              let target = ImageReference(parsing: facts.targetImage)
        else { throw TestFailure("fixture \(deployment.fixture): no image line, major or target") }
        let placement = try DataPlacement.choose(database: database, targetMajor: options.targetMajor, oldMajor: oldMajor, runID: runID)
        let pgdataEdit = placement.pgdataEdit(database: database, targetMajor: options.targetMajor)
        var notes: [String] = []
        if let pgdataEdit {
            notes.append("compose file \(source.file): \(pgdataEdit.summary) for service \(database.service)"
                + PgUpgradePreflight.pgdataReason(placement, database: database, targetMajor: options.targetMajor))
        }
        let clients = DatabaseClients.split(running: facts.running, config: project.config, database: database,
                                            applicationServices: AppDetection.detect(in: project.config).applicationServices)
        if !clients.keep.isEmpty { notes.append("kept running through the window (no database access): \(clients.keep.joined(separator: ", "))") }
        if !facts.extensions.isEmpty {
            notes.append("extensions: " + ExtensionCatalog.list(facts.extensions) + "; all available in \(target), updated after the upgrade")
        }
        var context = PgUpgradeContext(
            runID: runID, options: options, project: project, handle: ComposeHandle(project), database: database,
            imageSource: source, oldMajor: oldMajor, targetImage: target, placement: placement,
            applicationServices: clients.stop, databaseWasRunning: facts.running.contains(database.service),
            backupDirectory: deployment.directory + "/backups", hostPort: 54329,
            databaseBytes: facts.databaseBytes, dataBytes: facts.dataBytes, redactor: redactor, notes: notes)
        context.jobs = facts.jobs
        context.pgdataEdit = pgdataEdit
        context.extensions = facts.extensions
        context.packageIndex = facts.packageIndex
        if options.method == .pgUpgrade {
            context.upgradeTool = UpgradeTool(
                image: options.upgradeImage ?? UpgradeTool.defaultImage(oldMajor: oldMajor, newMajor: options.targetMajor),
                binOld: "/usr/lib/postgresql/\(oldMajor)/bin", binNew: "/usr/lib/postgresql/\(options.targetMajor)/bin",
                uid: 999, gid: 999, runID: runID.rawValue)
        }
        if context.databaseWasRunning && options.prepareOnlineEnabled && options.method != .invoke {
            context.onlineAddress = facts.onlineAddress
            if let reason = facts.offlineReason { context.notes.append("the dump and fingerprint run inside the window: \(reason)") }
        }
        let invoke = options.method == .invoke
        context.isolation = WindowIsolation(exposure: facts.exposure, reachesDirectly: context.onlineAddress != nil && !invoke, invoke: invoke, runID: runID.rawValue)
        return PgUpgradeWorld(context: context, runner: runner, runFolder: deployment.runFolder())
    }

    /// InvenTree's published layout (`inventree` fixture): PostgreSQL 15 in the `pgdb` sub-directory of the
    /// bind-mounted data directory, server and worker running, the cache kept running; on compose's default
    /// network, no published port.
    static func inventreeFacts(_ options: PgUpgradeOptions, online: Bool) -> PgUpgradeFacts {
        PgUpgradeFacts(
            options: options, targetImage: "postgres:18-bookworm",
            running: ["inventree-cache", "inventree-db", "inventree-server", "inventree-worker"],
            onlineAddress: online ? "172.18.0.2" : nil,
            exposure: ContainerExposure(networks: ["inventree_default": "172.18.0.2"], bindings: [], networkMode: "inventree_default"),
            jobs: 2)
    }

    /// The `named-volume` fixture: PostgreSQL 16 at the root of the named volume `named-volume_pgdata`, the web
    /// service running; its address not reachable from this host, so everything happens inside the window.
    static func namedVolumeFacts() -> PgUpgradeFacts {
        PgUpgradeFacts(
            options: PgUpgradeOptions(targetMajor: 18), targetImage: "docker.io/library/postgres:18",
            running: ["db", "web"], onlineAddress: nil,
            offlineReason: "cannot log in at the container's address from this host (connection timed out)",
            exposure: ContainerExposure(
                networks: ["named-volume_default": "172.19.0.2"],
                bindings: [.init(hostIP: "0.0.0.0", hostPort: 5432, containerPort: "5432/tcp")], networkMode: "named-volume_default"),
            extensions: [InstalledExtension(database: "postgres", name: "pg_trgm", version: "1.6")])
    }

    // MARK: - update

    /// `update --to <target>` on the `inventree` fixture (InvenTree 0.17.0 on PostgreSQL 15): the real
    /// `AppUpdatePreflight` against recorded engine answers; `indexReachable` is what the package-index probe found.
    static func update(_ deployment: RecordedDeployment, to target: String, indexReachable: Bool) async throws -> AppUpdateWorld {
        let runner = RecordingRunner(strict: true)
        let project = try deployment.project(runner: runner)
        let compose = project.cli.command([]).argv
        let index = indexReachable
            ? #"{"host": "pypi.org", "reachable": true, "problem": null, "plugins": []}"#
            : #"{"host": "pypi.org", "reachable": false, "problem": "Temporary failure in name resolution", "plugins": ["inventree-barcodeplus"]}"#
        runner.stub(compose + ["ps"], stdout: [
            #"{"Name":"inventree-cache","Service":"inventree-cache","State":"running"}"#,
            #"{"Name":"inventree-db","Service":"inventree-db","State":"running"}"#,
            #"{"Name":"inventree-server","Service":"inventree-server","State":"running"}"#,
            #"{"Name":"inventree-worker","Service":"inventree-worker","State":"running"}"#,
        ].joined(separator: "\n") + "\n")
        runner.stub(compose + ["run", "--rm", "-T", "--no-deps", "inventree-server", "invoke", "version"], stdout: "Versions:\nInvenTree   0.17.0\nAPI  294\n")
        runner.stub(["docker", "pull"], stdout: "ok\n")
        runner.stub(compose + ["run", "--rm", "-T", "--no-deps", "--entrypoint", "pg_dump", "inventree-server", "--version"], stdout: "pg_dump (PostgreSQL) 15.8\n")
        runner.stub(compose + ["run", "--rm", "-T", "--no-deps", "--entrypoint", "python3", "inventree-server", "-c", PackageIndexProbe.script], stdout: "UPSHIFT-INDEX \(index)\n")
        var context = try await AppUpdatePreflight(
            project: project, options: AppUpdateOptions(targetVersion: target), runner: runner, runID: runID, environment: [:]).run()
        context.hostPort = 54329  // preflight picks a free port; the plan must not depend on it
        return AppUpdateWorld(context: context, runner: runner, runFolder: deployment.runFolder(), environment: [:])
    }

    // MARK: - restore

    /// `restore` on `deployment`: InvenTree restores its own backup file by name (`invoke restore`), other
    /// projects an upshift dump from the host.
    static func restore(_ deployment: RecordedDeployment, source: RestoreContext.Source, running: [String]) throws -> RestorePlanner {
        let runner = RecordingRunner(strict: true)
        let project = try deployment.project(runner: runner)
        let database = try project.database()
        var redactor = Redactor()
        redactor.add(database.password)
        let app = AppDetection.detect(in: project.config)
        let stop = DatabaseClients.split(running: running, config: project.config, database: database, applicationServices: app.applicationServices).stop
        var appServices: [String] = []
        if case .inventree(_, let server, _, _) = source { appServices = [server] + app.workerServices }
        let context = RestoreContext(
            runID: runID, project: project, handle: ComposeHandle(project), database: database, source: source,
            runningApplicationServices: stop, applicationServices: Array(Set(appServices + stop)).sorted(),
            safetyDumpPath: deployment.directory + "/backups/\(project.name)-\(database.database)-\(runID.rawValue).pre-restore.dump",
            redactor: redactor, readyTimeout: 180)
        return RestorePlanner(context: context, runner: runner)
    }

    // MARK: - import and transfer

    static func inventreeEndpoint(_ deployment: RecordedDeployment, name: String? = nil) throws -> InvenTreeEndpoint {
        let runner = RecordingRunner(strict: true)
        return try InvenTreeEndpoint(project: try deployment.project(runner: runner, name: name), runner: runner)
    }

    /// An InvenTree export: core models, a plugin's settings row, and rows of the barcodeplus plugin's own model.
    static let recordsFile = RecordsFile(
        metadata: nil, counts: ["auth.user": 2, "part.part": 120, "part.partcategory": 9, "stock.stockitem": 340, "plugin.pluginconfig": 1, "barcodeplus.scanlog": 4],
        invalidEntries: 0, bytes: 81_920)

    /// `import -f /srv/exports/records.json --clear` into the `inventree` fixture at `version`.
    static func recordsImport(_ deployment: RecordedDeployment, version: InvenTreeVersion) throws -> RecordsImportWorld {
        let context = RecordsImportContext(
            runID: runID, target: try inventreeEndpoint(deployment), version: version, sourcePath: "/srv/exports/records.json", file: recordsFile,
            options: ImportRecordsOptions(clear: true), runningAppServices: ["inventree-server", "inventree-worker"],
            userData: ["part.part": 3, "auth.user": 1], warnings: [])
        return RecordsImportWorld(context: context, runFolder: deployment.runFolder(), hostFile: "/srv/exports/records.json")
    }

    /// `transfer --to /srv/inventree-new [--include-media]`: records (and media) from `source` into `target`,
    /// both InvenTree 1.0.0 with the same plugin.
    static func transfer(source: RecordedDeployment, target: RecordedDeployment, includeMedia: Bool) throws -> TransferWorld {
        let context = TransferContext(
            runID: runID, source: try inventreeEndpoint(source), target: try inventreeEndpoint(target, name: "inventree-new"),
            version: InvenTreeVersion(1, 0, 0), includeMedia: includeMedia, exportOptions: ExportRecordsOptions(),
            targetRunningAppServices: ["inventree-server", "inventree-worker"], targetUserData: [:], plugins: ["inventree-barcodeplus"], warnings: [])
        return TransferWorld(context: context, runFolder: target.runFolder())
    }
}
