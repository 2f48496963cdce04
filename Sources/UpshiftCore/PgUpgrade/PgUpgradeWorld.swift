import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// What every pg-upgrade step shares: the facts from preflight and the tools to act with.
public struct PgUpgradeWorld: Sendable {
    public var context: PgUpgradeContext
    public var runner: any CommandRunning
    public var runFolder: RunFolder

    public init(context: PgUpgradeContext, runner: any CommandRunning, runFolder: RunFolder) {
        self.context = context
        self.runner = runner
        self.runFolder = runFolder
    }

    public var redactor: Redactor { context.redactor }
    public var database: DatabaseService { context.database }
    public var service: String { context.database.service }

    /// The window's generated override: the database on a private network, its ports closed (or only on
    /// 127.0.0.1 for upshift), restart policy off (see `WindowIsolation`). YAML: it uses `!override`.
    public var overridePath: String { runFolder.path + "/isolate.override.yml" }

    /// Compose with the user's files only.
    public var compose: ComposeOperations {
        ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool), redactor: redactor)
    }

    /// Compose with the isolation override appended.
    public var isolatedCompose: ComposeOperations {
        ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool, extraFiles: [overridePath]), redactor: redactor)
    }

    public var oldData: DataDirectoryOperations { DataDirectoryOperations(runner: runner, image: database.imageText) }

    public var readyDeadline: ContinuousClock.Instant { .now + .seconds(context.options.readyTimeout) }

    /// Whether upshift reaches the database at its container's address: preflight proved such addresses
    /// reachable from this host (see `OnlinePreparation.probe`). Then the old server is not republished on
    /// 127.0.0.1 for the window; otherwise both servers are published there through the window's override
    /// (`IsolationOverride`).
    public var reachesContainersDirectly: Bool { context.onlineAddress != nil && context.options.method != .invoke }

    /// The port the window's override publishes on the engine host's 127.0.0.1 for upshift: none when upshift
    /// reaches container addresses, or when the engine is remote (its loopback is not this host's; the
    /// `DatabaseTunnel` listens on this port here instead).
    public var upshiftPort: Int? {
        reachesContainersDirectly || context.options.remoteEngine != nil ? nil : context.hostPort
    }

    /// Compose that starts a new server still to be verified: with the window's override, on the private
    /// network. Any client that reaches the service's networks — a job runner of another stack, a cron
    /// container, the downtime benchmark's writer — would otherwise write into the new cluster before it is
    /// verified; a failed verification then rolls back and those acknowledged writes are gone from the
    /// database the user runs. start-stack recreates it from the user's files once verified (one restart, a
    /// second or two). A cluster verified before it starts skips both (`StartNewDatabaseStep.finalForm`).
    public var newServerCompose: ComposeOperations { isolatedCompose }

    /// The override that hides init scripts from the new cluster's first start (`InitScriptMask`).
    public var initMaskPath: String { runFolder.path + "/initdb-mask.override.json" }

    /// Compose for the first start of a cluster the entrypoint initialises: `newServerCompose`, plus the
    /// init-script mask when there is one (the container then differs from the user's files, so start-stack
    /// recreates it: a restart, only where scripts exist).
    public var firstStartCompose: ComposeOperations {
        guard context.initScriptMask != nil else { return newServerCompose }
        let files = [overridePath, initMaskPath]
        return ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool, extraFiles: files), redactor: redactor)
    }

    /// Writes the init-script mask override for `service` (no-op without a mask); returns its settings.
    @discardableResult
    func writeInitMask() async throws -> [String: Any] {
        guard let mask = context.initScriptMask else { return [:] }
        let folder = runFolder.path + "/initdb-empty"
        let settings: [String: Any] = ["volumes": try mask.volumes(standInFolder: folder)]
        try IsolationOverride.write(path: initMaskPath, service: service, settings: settings)
        if context.options.remoteEngine != nil { try await copyToEngineHost(folder) }
        return settings
    }

    /// Puts a local folder's files at the same path on the engine's host, where bind-mount sources are read:
    /// a tar stream into a helper container of the db image that mounts that path (docker creates it).
    func copyToEngineHost(_ folder: String) async throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder), !names.isEmpty else { return }
        let archive = try await runner.run(Command("tar", ["-c", "-f", "-", "-C", folder, "."], timeout: .seconds(60)))
        try archive.check(redactor: redactor)
        let unpack = Command(
            "docker", ["run", "--rm", "-i", "--network", "none", "--log-driver", "none", "--label", "com.upshift.helper=true",
                       "-v", "\(folder):/upshift-copy", "--entrypoint", "tar", database.imageText, "-x", "-f", "-", "-C", "/upshift-copy"],
            standardInput: archive.standardOutput, timeout: .seconds(120))
        try (try await runner.run(unpack)).check(redactor: redactor)
    }

    /// Where upshift reaches the server the service runs now (old or new): its container's address, or the
    /// published port.
    public func serverConnection(database name: String = "postgres") async throws -> ConnectionParameters {
        guard reachesContainersDirectly else { return context.connection(database: name) }
        let state = try await ContainerState.read(service: service, compose: compose, runner: runner)
        guard let address = state?.addresses.first else {
            throw UpshiftError("the new \(service) container has no network address (state: \(state?.status ?? "not created"))")
        }
        return database.superuserConnection(host: address, port: 5432, database: name)
    }

    /// The old server from isolate-db until stop-db, at the address isolate-db proved it isolated at: nothing
    /// but upshift acts on the container in between, and every docker lookup inside the window is downtime.
    /// Looked up as usual when no address was recorded (upshift reaches the server through a published port).
    public func isolatedServerConnection(database name: String = "postgres") async throws -> ConnectionParameters {
        if reachesContainersDirectly, let data = FileManager.default.contents(atPath: WindowIsolation.path(runFolder.path)),
           let host = try? JSONDecoder().decode(WindowIsolation.self, from: data).address {
            return database.superuserConnection(host: host, port: 5432, database: name)
        }
        return try await serverConnection(database: name)
    }

    /// Waits for the server to accept a login with the superuser's password (default: behind the published port).
    public func waitForServer(_ target: ConnectionParameters? = nil) async throws {
        let parameters = target ?? context.connection()
        try await Connection.waitUntilReady(parameters, deadline: readyDeadline)
        // PQping says "accepting connections"; a login proves the password and pg_hba as well.
        let deadline = readyDeadline
        while true {
            do {
                let major = try await Blocking.run { () throws -> Int in try Connection(parameters).serverMajor }
                _ = major
                return
            } catch let error as PostgresError where ContinuousClock.now < deadline && error.sqlState == "57P03" {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    public func serverMajor(_ target: ConnectionParameters? = nil) async throws -> Int {
        let parameters = target ?? context.connection()
        return try await Blocking.run { () throws -> Int in try Connection(parameters).serverMajor }
    }
}
