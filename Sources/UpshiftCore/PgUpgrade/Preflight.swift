import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Every check that must pass before `pg-upgrade` changes anything. Each failure is one specific message
/// that says what was found and what to do; nothing has been touched when it is thrown.
public struct PgUpgradePreflight: Sendable {
    public var project: ComposeProject
    public var options: PgUpgradeOptions
    public var runner: any CommandRunning
    public var runID: RunID
    public var environment: [String: String]
    public var progress: @Sendable (String) -> Void

    public init(
        project: ComposeProject, options: PgUpgradeOptions, runner: any CommandRunning, runID: RunID,
        environment: [String: String] = ProcessInfo.processInfo.environment, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.project = project
        self.options = options
        self.runner = runner
        self.runID = runID
        self.environment = environment
        self.progress = progress
    }

    /// Runs the checks and returns the context the planner needs.
    /// - Parameter pullImage: pull the target image now (before any downtime); `--dry-run` still checks
    ///   that it can be had.
    public func run() async throws -> PgUpgradeContext {
        var database = try project.database()
        if let refusal = BuiltImageRefusal.pgUpgrade(database: database, config: project.config, targetMajor: options.targetMajor) { throw refusal }
        var redactor = Redactor()
        redactor.add(database.password)
        var compose = ComposeOperations(cli: project.cli, redactor: redactor)
        if try await database.readPasswordInContainer(compose: compose, runner: runner) {
            redactor.add(database.password)
            compose = ComposeOperations(cli: project.cli, redactor: redactor)
        }
        var notes: [String] = []

        // Versions: image, disk, target.
        let imageMajor: Int
        if let major = database.imageMajor {
            imageMajor = major
        } else {
            guard database.family != .official || TagRewriter.pinFloating(database.image.tag ?? "latest", major: "0") != nil else {
                throw UpshiftError.usage(
                    "cannot tell the PostgreSQL major of image \(database.imageText) (service \(database.service))",
                    hint: "use a tag that starts with the major version, e.g. postgres:15 or postgres:15-alpine")
            }
            (imageMajor, database) = try await FloatingImage.resolve(database, config: project.config, compose: compose, runner: runner)
            notes.append("the image \(database.image) names no major: PostgreSQL \(imageMajor) runs on disk (image \(database.imageText.prefix(19))…); the switch pins the tag to the major of --to")
        }
        guard options.targetMajor > imageMajor else {
            throw UpshiftError.usage(
                "--to \(options.targetMajor) is not newer than the current major \(imageMajor) (\(database.imageText))",
                hint: "pg-upgrade only goes up; to go back after an upgrade use `upshift rollback`")
        }
        guard options.targetMajor <= DatabaseService.latestMajor else {
            throw UpshiftError.usage("--to \(options.targetMajor) is not a released PostgreSQL major (latest known: \(DatabaseService.latestMajor))")
        }

        try Self.refuseMultiLinePassword(database, targetMajor: options.targetMajor)
        if database.family == .bitnami, let service = project.config.services[database.service] {
            try BitnamiRefusals.check(database: database, service: service, method: options.method)
        }

        let data = DataDirectoryOperations(runner: runner, image: database.imageText)
        guard database.dataLocation.isPersistent else {
            throw UpshiftError.usage(
                "the data of service \(database.service) is not on a persistent mount: \(database.dataLocation.summary)",
                hint: "mount a named volume or a host folder at \(database.pgdata) (and move the data there) first; upshift will not upgrade data that compose can lose")
        }
        // Read-only docker lookups that depend on nothing decided below start at once: each is a helper
        // container or a CLI call of a few hundred milliseconds, and the user waits for every one of them
        // before the plan. Each is awaited where a check needs it, so refusals come in the same order.
        let found = database
        let composeNow = compose
        let cli = project.cli
        let tools = UpgradeToolPreflight(runner: runner, progress: progress)
        async let containersRead = { try? await cli.containers() }()
        async let probeRead = data.probe(found.dataLocation)
        async let bindRootRead = PreflightChecks.bindRootIsMountPoint(found.dataLocation, data: data)
        async let serverRead = Self.readServer(found, compose: composeNow)
        async let dataSizeRead = data.size(found.dataLocation)
        async let jobsRead = tools.jobs(options.jobs)
        let dbContainer = (await containersRead)?.first { $0.service == database.service }
        if let shadow = await ImageVolumeShadow.detect(database: database, containerName: dbContainer?.name, containerImage: dbContainer?.image, runner: runner) {
            throw UpshiftError.usage(
                shadow.message(service: database.service, image: database.imageText),
                hint: shadow.hint(service: database.service, image: database.imageText, major: database.imageMajor))
        }
        progress("reading PG_VERSION through a helper container")
        let probe = try await probeRead
        guard let diskMajor = probe.major else {
            throw UpshiftError("no PostgreSQL cluster found for service \(database.service): \(probe.summary)", hint: "start the stack once so the database is initialised, or check PGDATA and the volume")
        }
        guard diskMajor == imageMajor else {
            throw UpshiftError(
                "the data on disk is PostgreSQL \(diskMajor) but the image is \(database.imageText) (major \(imageMajor)): the tag was changed without migrating the data",
                hint: "set the image back to postgres:\(diskMajor) and start it, then run `upshift pg-upgrade --to \(options.targetMajor)`")
        }

        // The image line must be editable, the data placement possible.
        guard let source = project.imageSource(service: database.service, environment: environment) else {
            throw UpshiftError("cannot find the line that defines the image of service \(database.service) in \(project.location.files.joined(separator: ", "))")
        }
        let sidecars = try SidecarImages.resolve(
            database: database, databaseSource: source, config: project.config, targetMajor: options.targetMajor,
            locate: { project.imageSource(service: $0, environment: environment) })
        // The target image must be obtainable before any downtime.
        let resolved = try await TargetImage.resolve(database: database, targetMajor: options.targetMajor, explicit: options.targetImage, runner: runner, progress: progress)
        let targetImage = resolved.image
        notes += resolved.notes
        // pg_upgrade's cluster is made by initdb; the others by the image's entrypoint, which runs scripts:
        // which ones the image holds is read now, beside the checks below.
        let masksInitScripts = options.method != .pgUpgrade
        async let initEntriesRead = masksInitScripts ? InitScriptMask.imageEntries(image: targetImage.description, runner: runner) : []
        let databaseEdit = try ImageSwitch.plan(source: source, target: targetImage, current: database.image, environment: environment, alongside: sidecars.sidecars.map(\.source))
        _ = try SidecarImages.prepare(sidecars.sidecars, after: databaseEdit, targetMajor: options.targetMajor, environment: environment)
        if !sidecars.sidecars.isEmpty {
            notes.append("sidecars switched with the database: " + sidecars.sidecars.map { "\($0.service) (\($0.image) -> \($0.target))" }.joined(separator: ", "))
        }
        notes += sidecars.notes
        let bindRootIsMountPoint = try await bindRootRead
        let placement = try DataPlacement.choose(
            database: database, targetMajor: options.targetMajor, oldMajor: imageMajor, runID: runID, bindRootIsMountPoint: bindRootIsMountPoint)
        let pgdataEdit = placement.pgdataEdit(database: database, targetMajor: options.targetMajor)
        if let pgdataEdit {
            guard let composeFile = ImageSwitch.serviceFile(source: source) else {
                throw UpshiftError.usage("cannot find the compose file that defines service \(database.service)")
            }
            _ = try PGDATAPin.apply(pgdataEdit, to: try String(contentsOfFile: composeFile, encoding: .utf8), imageLine: source.line)
            notes.append("compose file \(composeFile): \(pgdataEdit.summary) for service \(database.service)" + Self.pgdataReason(placement, database: database, targetMajor: options.targetMajor))
        }
        if let relative = try await PreflightChecks.existingPlacementPaths(placement, data: data).first {
            throw UpshiftError(
                "\(relative) already exists in \(DataPlacement.describe(placement.mount)); upshift will not overwrite it",
                hint: "rename or remove it by hand after checking what it holds, then run again")
        }

        // What runs now.
        let server = try await serverRead
        let running = server.running
        let databaseWasRunning = running.contains(database.service)
        let probesOnline = options.remoteEngine == nil && databaseWasRunning && options.prepareOnlineEnabled && options.method != .invoke
        async let onlineProbeRead: (address: String?, reason: String?) = probesOnline ? OnlinePreparation.probe(compose: composeNow, runner: runner, database: found) : (nil, nil)
        let clients = DatabaseClients.split(running: running, config: project.config, database: database,
                                            applicationServices: AppDetection.detect(in: project.config).applicationServices)
        let applications = clients.stop
        if !clients.keep.isEmpty {
            notes.append("kept running through the window (no database access): \(clients.keep.joined(separator: ", "))")
        }

        // Size and extensions, read through the running server (read-only, socket inside the container).
        let databaseBytes = server.databaseBytes
        let extensions = server.extensions
        if !databaseWasRunning {
            notes.append("the database is not running; it will be started for the dump")
        }
        let dataBytes = try await dataSizeRead ?? 0

        try await SidecarImages.pull(sidecars.sidecars, except: targetImage, runner: runner, progress: progress)
        if !extensions.isEmpty {
            progress("checking \(extensions.count) extension(s) against \(targetImage)")
            let missing = try await ExtensionCatalog.read(image: targetImage.description, runner: runner).missing(extensions)
            if !missing.isEmpty {
                throw UpshiftError.usage(
                    "extensions installed in the old cluster are not available in \(targetImage): \(ExtensionCatalog.list(missing))",
                    hint: "use an image for PostgreSQL \(options.targetMajor) that ships them (--image REF), or drop them first; nothing was changed")
            }
            notes.append("extensions: " + ExtensionCatalog.list(extensions) + "; all available in \(targetImage), updated after the upgrade")
        }

        // Disk space: the new cluster goes next to the old one; the dump goes to the backup directory.
        let backupDirectory = options.backupDirectory.map { Self.absolute($0, base: project.location.directory) }
            ?? project.location.directory + "/backups"
        let margin: Int64 = 64 << 20
        let needData = databaseBytes + databaseBytes / 10 + margin
        if let free = try await Self.freeBytes(in: placement.mount, data: data), free < needData {
            throw UpshiftError(
                "not enough free space for the new cluster in \(DataPlacement.describe(placement.mount)): \(ByteFormat.string(free)) free, \(ByteFormat.string(needData)) needed",
                hint: "free some space there; the old cluster is kept until you prune it")
        }
        if let free = Self.hostFreeBytes(backupDirectory), free < needData {
            throw UpshiftError(
                "not enough free space for the dump in \(backupDirectory): \(ByteFormat.string(free)) free, \(ByteFormat.string(needData)) needed",
                hint: "choose another place with --backup-dir")
        }

        var upgradeTool: UpgradeTool?
        if options.method == .pgUpgrade {
            upgradeTool = try await tools.upgradeTool(options: options, oldMajor: imageMajor, database: database, placement: placement, runID: runID)
            if let tool = upgradeTool, !extensions.isEmpty {
                // pg_upgrade loads the old cluster's libraries from the old binaries and checks them in the new.
                for (bin, major) in [(tool.binOld, imageMajor), (tool.binNew, options.targetMajor)] {
                    let missing = try await ExtensionCatalog.read(image: tool.image, pgConfig: bin + "/pg_config", runner: runner).missing(extensions)
                    if !missing.isEmpty {
                        throw UpshiftError.usage(
                            "the upgrade image \(tool.image) lacks, for PostgreSQL \(major) (\(bin)), extensions of the old cluster: \(ExtensionCatalog.list(missing))",
                            hint: "pass --upgrade-image with both majors' binaries and these extensions, or use --method dump; nothing was changed")
                    }
                }
            }
            if options.mode == .copy, let free = try await Self.freeBytes(in: placement.mount, data: data), free < dataBytes + margin {
                throw UpshiftError(
                    "not enough free space for pg_upgrade --copy in \(DataPlacement.describe(placement.mount)): \(ByteFormat.string(free)) free, \(ByteFormat.string(dataBytes + margin)) needed (a full copy of the data directory)",
                    hint: "free some space, or use --mode link (needs almost no space)")
            }
        }
        var jobs = await jobsRead
        if let remote = options.remoteEngine {
            // pg_dump -Fd -j N writes through a bind mount of the dump folder, a path on the engine's host.
            if jobs > 1 { notes.append("single-stream dump and restore: the engine is on another host (\(remote)), and a parallel dump would write to a folder there") }
            jobs = 1
        }

        let port = try Self.freePort()
        var context = PgUpgradeContext(
            runID: runID, options: options, project: project, handle: ComposeHandle(project), database: database,
            imageSource: source, oldMajor: imageMajor, targetImage: targetImage, placement: placement,
            applicationServices: applications, databaseWasRunning: databaseWasRunning, backupDirectory: backupDirectory,
            hostPort: port, databaseBytes: databaseBytes, dataBytes: dataBytes, redactor: redactor, notes: notes)
        context.jobs = jobs
        context.pgdataEdit = pgdataEdit
        if masksInitScripts {
            context.initScriptMask = InitScriptMask.make(volumes: database.initScriptMounts, imageEntries: try await initEntriesRead)
        }
        context.upgradeTool = upgradeTool
        context.extensions = extensions
        context.sidecars = sidecars.sidecars
        if let remote = options.remoteEngine {
            context.notes.append("the engine is on another host (\(remote)): upshift reaches the database through `docker exec` (a tunnel on this machine's 127.0.0.1:\(port)), nothing is published; the dump and fingerprint run inside the window")
        } else if probesOnline {
            let probe = await onlineProbeRead
            context.onlineAddress = probe.address
            if let reason = probe.reason {
                context.notes.append("the dump and fingerprint run inside the window: \(redactor.redact(reason))")
            }
        }
        context.isolation = try await Self.windowIsolation(context: context, compose: compose)
        return context
    }

    /// The services running now and, when the database is one of them, its size and installed extensions
    /// (read-only, through the socket inside the container).
    static func readServer(_ database: DatabaseService, compose: ComposeOperations) async throws -> (running: [String], databaseBytes: Int64, extensions: [InstalledExtension]) {
        let running = try await compose.runningServices()
        guard running.contains(database.service) else { return (running, 0, []) }
        let psql = PsqlRunner(compose: compose, database: database)
        async let size = psql.scalar("SELECT coalesce(sum(pg_database_size(datname)),0) FROM pg_database WHERE datallowconn")
        async let extensions = psql.installedExtensions()
        return (running, Int64(try await size ?? "0") ?? 0, try await extensions)
    }

    /// Why the PGDATA line changes, for the plan: the layout decision made for the user.
    static func pgdataReason(_ placement: DataPlacement, database: DatabaseService, targetMajor: Int) -> String {
        if placement.pinsPGDATA {
            return " (PGDATA is the root of \(DataPlacement.describe(placement.mount)), which cannot be renamed from inside: the old cluster stays there, the new one goes into a sub-directory of the same volume)"
        }
        if !database.pgdataIsExplicit, targetMajor >= 18 {
            return " (postgres \(targetMajor) images default to \(database.defaultPGData(major: targetMajor)) with one mount at /var/lib/postgresql; upshift keeps your mount at \(database.dataLocation.mountTarget ?? database.pgdata) and names PGDATA explicitly, the smallest change that keeps the data where it is)"
        }
        return " (the old PGDATA names major \(database.imageMajor.map(String.init) ?? "?"); the new cluster gets its own directory beside it in the same mount)"
    }

    static func absolute(_ path: String, base: String) -> String {
        path.hasPrefix("/") ? path : base + "/" + path
    }

    /// Extension names the image ships (`<sharedir>/extension/*.control`).
    static func availableExtensions(image: String, runner: any CommandRunning) async throws -> Set<String> {
        Set(try await ExtensionCatalog.read(image: image, runner: runner).controls.keys)
    }

    /// Free bytes on the filesystem of a mount, measured inside a helper container.
    static func freeBytes(in location: DataLocation, data: DataDirectoryOperations) async throws -> Int64? {
        let result = try await data.runner.run(data.helperCommand(location, tool: "df", ["-Pk", DataDirectoryOperations.mountPoint], readOnly: true))
        guard result.termination.isSuccess else { return nil }
        let lines = result.stdoutText.split(whereSeparator: \.isNewline)
        guard lines.count >= 2 else { return nil }
        let fields = lines[1].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 4, let kb = Int64(fields[3]) else { return nil }
        return kb * 1024
    }

    static func hostFreeBytes(_ path: String) -> Int64? {
        var probe = path
        while !FileManager.default.fileExists(atPath: probe), probe != "/" {
            probe = (probe as NSString).deletingLastPathComponent
            if probe.isEmpty { probe = "/" }
        }
        var stats = statvfs()
        guard statvfs(probe, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    /// A free TCP port on 127.0.0.1, found by binding port 0.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UpshiftError("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw UpshiftError("cannot find a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension PgUpgradePreflight {
    /// Compose carries a multi-line value (a double-quoted `.env` value with `\n`), but the image's entrypoint
    /// gives initdb the password as a file it reads one line of (`--pwfile`): a cluster it initialises (the new
    /// one, a staged one, a rebuild on undo) would have only the first line, and the login would fail inside
    /// the window (found by the hostile-password suite). Refused before anything changes.
    static func refuseMultiLinePassword(_ database: DatabaseService, targetMajor: Int) throws {
        guard let password = database.password, password.revealed.contains(where: \.isNewline) else { return }
        throw UpshiftError.usage(
            "the password of service \(database.service) has more than one line: the postgres image's initdb keeps only its first line, so the new PostgreSQL \(targetMajor) cluster would not accept it",
            hint: "change the password to a single line (ALTER ROLE \(database.superuser) PASSWORD …, and POSTGRES_PASSWORD to match), then run pg-upgrade")
    }
}
