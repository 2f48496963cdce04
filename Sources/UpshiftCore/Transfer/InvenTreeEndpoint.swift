import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// One InvenTree deployment that records are exported from or imported into: its compose project, database
/// and server service, and the read-only questions upshift asks it (version, is it empty, rows per model,
/// plugins.txt). Everything runs through `docker compose` (`exec` in the database service for SQL, throw-away
/// `run --rm` containers of the server image for files), so it works with bind mounts and named volumes alike.
public struct InvenTreeEndpoint: Sendable {
    public var project: ComposeProject
    public var handle: ComposeHandle
    public var database: DatabaseService
    public var app: AppProfile
    public var server: String
    /// The server and worker services (the ones stopped while records are loaded).
    public var appServices: [String]
    public var redactor: Redactor
    public var runner: any CommandRunning

    /// The data directory inside the server image (`INVENTREE_DATA_DIR`); the bind dir or volume on the host.
    public static let dataDirectory = "/home/inventree/data"
    public static let backupDirectory = dataDirectory + "/backup"
    public static let mediaDirectory = dataDirectory + "/media"

    public init(project: ComposeProject, runner: any CommandRunning) throws {
        let app = AppDetection.detect(in: project.config)
        guard app.kind == .inventree, let server = app.serverService else {
            throw UpshiftError.usage("\(project.location.directory) is not an InvenTree deployment (no service runs inventree/inventree)",
                                     hint: "export, import and transfer drive InvenTree's own export-records/import-records tasks")
        }
        self.project = project
        self.handle = ComposeHandle(project)
        self.database = try project.database()
        self.app = app
        self.server = server
        self.appServices = [server] + app.workerServices
        var redactor = Redactor()
        redactor.add(database.password)
        self.redactor = redactor
        self.runner = runner
    }

    public var directory: String { project.location.directory }
    public var compose: ComposeOperations { ComposeOperations(cli: project.cli, redactor: redactor) }
    public var tasks: InvenTreeTasks { InvenTreeTasks(compose: compose, server: server, noDeps: true) }
    public var dump: DatabaseDump { DatabaseDump(compose: compose, database: database) }

    /// Where upshift's own pg_dump of this database goes for a run.
    public func dumpPath(runID: RunID) -> String {
        directory + "/backups/\(project.name)-\(database.database)-\(runID.rawValue).dump"
    }

    /// The data directory on the host when it is a bind mount (for messages).
    public var hostDataDirectory: String? {
        InvenTreeTasks.hostPath(of: Self.dataDirectory, service: project.config.services[server])
    }

    // MARK: - State

    /// Throws unless the database service and the server are running ("both must be up").
    public func requireUp(role: String) async throws -> [String] {
        let running = try await compose.runningServices()
        let missing = [database.service, server].filter { !running.contains($0) }
        guard missing.isEmpty else {
            throw UpshiftError.usage("the \(role) \(project.name) (\(directory)) is not up: \(missing.joined(separator: ", ")) not running",
                                     hint: "start it with `docker compose up -d` in \(directory)")
        }
        return running
    }

    /// The version `invoke version` reports (not the tag: a moving tag says nothing).
    public func version() async throws -> InvenTreeVersion { try await tasks.version() }

    // MARK: - SQL

    private var passwordEnvironment: [String: String] { database.passwordEnvironment }

    /// `psql -At` as the database superuser inside the database container; rows as lines.
    public func psql(_ sql: String) async throws -> [String] {
        let command = compose.execCommand(
            database.service, ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", database.superuser, "-d", ConnInfo.dbname(database.database), "-c", sql],
            environment: passwordEnvironment, timeout: .seconds(600))
        let result = try await runner.run(command)
        guard result.termination.isSuccess else {
            throw UpshiftError("SQL in \(project.name)/\(database.service) failed: \(redactor.redact(InvokeOutput.tail(result.stderrText, lines: 4)))")
        }
        return result.stdoutText.split(whereSeparator: \.isNewline).map(String.init)
    }

    /// Rows export-records leaves out, by table: settings whose key starts with `_` are internal (the plugin
    /// registry writes `_PLUGIN_REGISTRY_HASH` on every server start) and never exported, so counting them
    /// would fail a good import.
    static let exportedRows = [
        "common_inventreesetting": "left(key, 1) <> '_'",
        "common_inventreeusersetting": "left(key, 1) <> '_'",
    ]

    /// Exact row counts of the given tables (of the rows export-records writes: `exportedRows`); tables that do not exist are absent from the result.
    public func rowCounts(tables: [String]) async throws -> [String: Int] {
        guard !tables.isEmpty else { return [:] }
        let list = tables.map(Self.literal).joined(separator: ", ")
        let existing = try await psql("SELECT t FROM unnest(ARRAY[\(list)]::text[]) t WHERE to_regclass('public.' || quote_ident(t)) IS NOT NULL ORDER BY 1")
        guard !existing.isEmpty else { return [:] }
        let union = existing.map { table in
            "SELECT \(Self.literal(table)) || '|' || count(*) FROM public.\(Self.identifier(table))" + (Self.exportedRows[table].map { " WHERE \($0)" } ?? "")
        }.joined(separator: " UNION ALL ")
        var counts: [String: Int] = [:]
        for line in try await psql(union) {
            let parts = line.split(separator: "|")
            if parts.count == 2, let n = Int(parts[1]) { counts[String(parts[0])] = n }
        }
        return counts
    }

    /// Tables that hold what people entered; any row in one of them makes the database "not empty". A fresh
    /// `invoke migrate` + server start only fills content types, permissions, migrations and plugin configs.
    public static let coreDataTables = [
        "auth_user", "auth_group", "users_apitoken", "common_inventreesetting", "common_inventreeusersetting",
        "part_part", "part_partcategory", "stock_stockitem", "stock_stocklocation", "company_company",
        "order_purchaseorder", "order_salesorder", "build_build",
    ]

    /// Non-zero core tables (`part_part` -> 1230), empty when the database holds no user data.
    public func userData() async throws -> [String: Int] {
        try await rowCounts(tables: Self.coreDataTables).filter { $0.value > 0 }
    }

    /// Rows per model label in this database, for the labels of an export file (`part.part` -> `part_part`).
    public func modelCounts(_ labels: [String]) async throws -> [String: Int] {
        let tables = Dictionary(uniqueKeysWithValues: labels.map { ($0, Self.table(for: $0)) })
        let counts = try await rowCounts(tables: Array(Set(tables.values)))
        var result: [String: Int] = [:]
        for (label, table) in tables { if let n = counts[table] { result[label] = n } }
        return result
    }

    /// Django's default table name (`app_model`), with the few built-ins that set their own.
    public static func table(for label: String) -> String {
        let overrides = ["contenttypes.contenttype": "django_content_type", "sessions.session": "django_session",
                         "admin.logentry": "django_admin_log", "sites.site": "django_site"]
        if let table = overrides[label] { return table }
        return label.replacingOccurrences(of: ".", with: "_")
    }

    /// Plugin keys registered in `plugin_pluginconfig` (the server registers every installed plugin on start).
    public func pluginKeys() async throws -> Set<String> {
        guard try await rowCounts(tables: ["plugin_pluginconfig"])["plugin_pluginconfig"] != nil else { return [] }
        return Set(try await psql("SELECT key FROM plugin_pluginconfig"))
    }

    /// Tables of the public schema (to see whether a plugin app's tables exist).
    public func tableNames() async throws -> Set<String> {
        Set(try await psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    }

    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
    static func identifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    // MARK: - Files in the data volume

    /// Runs `sh -c SCRIPT sh ARGS…` in a throw-away container of the server image (no deps, no init).
    @discardableResult
    public func shell(_ script: String, _ arguments: [String] = [], stdout: OutputDestination = .capture, stdinFile: String? = nil,
                      timeout: Duration = .seconds(3600)) async throws -> CommandResult {
        var command = tasks.runCommand(["-c", script, "sh"] + arguments, entrypoint: "sh", timeout: timeout)
        command.standardInputFile = stdinFile
        let result = try await runner.run(command, stdout: stdout, onLine: nil)
        if let refusal = MediaRootGuard.scriptRefusal(result, project: project.name, server: server, directory: directory, redactor: redactor) { throw refusal }
        guard result.termination.isSuccess else {
            throw UpshiftError("helper container of \(project.name)/\(server) failed (\(result.termination)): \(redactor.redact(InvokeOutput.tail(result.stderrText, lines: 4)))")
        }
        return result
    }

    /// `plugins.txt` as the server sees it (`$INVENTREE_PLUGIN_FILE`), `nil` when there is none.
    public func pluginFile() async throws -> String? {
        let result = try await shell(#"f="${INVENTREE_PLUGIN_FILE:-/home/inventree/data/plugins.txt}"; [ -f "$f" ] || exit 0; echo present; cat -- "$f""#)
        let text = result.stdoutText
        guard text.hasPrefix("present\n") else { return nil }
        return String(text.dropFirst("present\n".count))
    }

    /// The effective plugin requirement lines (comments, blanks and surrounding spaces ignored).
    public static func pluginRequirements(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: \.isNewline).map { line -> String in
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return code.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }.sorted()
    }

    /// Whether the server has plugins enabled (`INVENTREE_PLUGINS_ENABLED`, default false in InvenTree).
    public var pluginsEnabled: Bool {
        let value: String? = project.config.services[server]?.environment["INVENTREE_PLUGINS_ENABLED"] ?? nil
        return ["true", "1", "yes", "on"].contains((value ?? "").lowercased())
    }

    /// Copies a container file to the host (streamed, never through memory), then checks it arrived whole.
    public func copyOut(_ containerPath: String, to hostPath: String) async throws {
        guard FileManager.default.createFile(atPath: hostPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: hostPath)
        else { throw UpshiftError("cannot create \(hostPath)") }
        do {
            try await shell(#"exec cat -- "$1""#, [containerPath], stdout: .file(handle))
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        try await verifySame(containerPath, hostPath)
    }

    /// Copies a host file into the data volume (written to `.part`, renamed when complete) and checks it.
    public func copyIn(_ hostPath: String, to containerPath: String) async throws {
        // One container: write, rename when complete, print the hash of what arrived.
        let result = try await shell(#"mkdir -p -- "$(dirname -- "$1")" && cat > "$1.part" && mv -f -- "$1.part" "$1" && sha256sum -- "$1""#,
                                     [containerPath], stdinFile: hostPath)
        let inside = result.stdoutText.prefix(64)
        let outside = try SHA256.hexOfFile(atPath: hostPath)
        guard inside == outside else {
            throw UpshiftError("copying \(hostPath) into \(containerPath) changed it (SHA-256 \(inside) in the container, \(outside) on the host)")
        }
    }

    public func remove(_ containerPath: String) async throws {
        try await shell(#"rm -f -- "$1""#, [containerPath], timeout: .seconds(300))
    }

    public func exists(_ containerPath: String) async throws -> Bool {
        try await shell(#"[ -e "$1" ] && echo yes || echo no"#, [containerPath], timeout: .seconds(300)).stdoutText.hasPrefix("yes")
    }

    private func verifySame(_ containerPath: String, _ hostPath: String) async throws {
        let inside = try await shell(#"sha256sum -- "$1""#, [containerPath], timeout: .seconds(3600)).stdoutText.prefix(64)
        let outside = try SHA256.hexOfFile(atPath: hostPath)
        guard inside == outside else {
            throw UpshiftError("copying \(containerPath) <-> \(hostPath) changed it (SHA-256 \(inside) in the container, \(outside) on the host)")
        }
    }
}
