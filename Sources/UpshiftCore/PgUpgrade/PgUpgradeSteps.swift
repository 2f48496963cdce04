import Foundation
import UpshiftPostgres

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

    /// The generated override that publishes the database on 127.0.0.1 and disables its restart policy
    /// for the window (see `IsolationOverride`).
    public var overridePath: String { runFolder.path + "/isolate.override.json" }

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

    /// Waits for the server behind the published port to accept a login with the superuser's password.
    public func waitForServer() async throws {
        let parameters = context.connection()
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

    public func serverMajor() async throws -> Int {
        let parameters = context.connection()
        return try await Blocking.run { () throws -> Int in try Connection(parameters).serverMajor }
    }
}

/// The override compose file of the maintenance window, written as JSON (which is YAML).
public enum IsolationOverride {
    public static func write(path: String, service: String, hostPort: Int, containerPort: Int = 5432) throws {
        let document: [String: Any] = [
            "services": [service: ["ports": ["127.0.0.1:\(hostPort):\(containerPort)"], "restart": "no"]],
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
    }
}
