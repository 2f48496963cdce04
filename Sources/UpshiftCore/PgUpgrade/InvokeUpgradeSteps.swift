import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The plan of `pg-upgrade --method invoke`: InvenTree's documented procedure for incompatible Postgres
/// majors (backup, down, move the database aside, new image, up, `invoke update`, `invoke restore`) done
/// right — the backup's exact file names are recorded, `update` runs with `--skip-backup` (a plain one
/// would back up the new, empty database, and a bare `restore` would then pick that), `restore` names the
/// recorded file and skips media, server and worker stay stopped throughout, and the result is verified
/// against the old cluster's fingerprint. Shares the dump method's window, move-aside and rollback.
public struct InvokeUpgradeSteps: Sendable {
    public var world: PgUpgradeWorld
    public var environment: [String: String]

    public init(world: PgUpgradeWorld, environment: [String: String]) {
        self.world = world
        self.environment = environment
    }

    public func steps() throws -> [ExecutableStep] {
        let invoke = try InvokeWorld(world)
        return try PgUpgradePlanner.openingSteps(world) + [
            InvokeBackupStep(invoke: invoke).executable,
            StopDatabaseStep(world: world).executable,
            MoveDataAsideStep(world: world).executable,
            SwitchImageStep(world: world, environment: environment).executable,
            StartNewDatabaseStep(world: world).executable,
            InvokeSchemaStep(invoke: invoke).executable,
            InvokeRestoreStep(invoke: invoke).executable,
            AnalyzeStep(world: world).executable,
            InvokeVerifyStep(world: world).executable,
            StartStackStep(world: world).executable,
        ]
    }
}

/// The InvenTree side of the window: which service runs the tasks, and the run-folder files that carry
/// what one step learned to the next (the backup's names, the version, the active plugins).
struct InvokeWorld: Sendable {
    var world: PgUpgradeWorld
    var server: String
    /// Version from the tag, for the plan; the steps use what `invoke version` reports.
    var taggedVersion: InvenTreeVersion?

    init(_ world: PgUpgradeWorld) throws {
        let app = AppDetection.detect(in: world.context.project.config)
        guard app.kind == .inventree, let server = app.serverService else {
            throw UpshiftError.usage("--method invoke needs an InvenTree deployment", hint: "use --method dump")
        }
        self.world = world
        self.server = server
        taggedVersion = app.version.flatMap(InvenTreeVersion.init(parsing:))
    }

    /// Tasks run with the isolation override, `--no-deps`: upshift manages the database container.
    var tasks: InvenTreeTasks { InvenTreeTasks(compose: world.isolatedCompose, server: server, noDeps: true) }
    var recordPath: String { world.runFolder.path + "/inventree-backup.json" }
    var pluginsPath: String { world.runFolder.path + "/inventree-active-plugins.json" }
    var planFlags: InvokeFlags { InvokeFlags(version: taggedVersion ?? InvenTreeVersion(1, 1, 0)) }

    /// `update --skip-backup`, or its steps without pip when the package index is out of reach.
    func updateTasks(_ flags: InvokeFlags) -> [[String]] {
        flags.updateTasks(packageIndexReachable: world.context.packageIndex?.reachable ?? true)
    }
}

/// `invoke backup` of the old cluster (through the app image's client), names recorded by listing the
/// backup directory before and after; also records which plugins are active, so the new schema can get
/// their tables before the restore.
struct InvokeBackupStep: PlanStep {
    var invoke: InvokeWorld

    func planned() -> PlannedStep {
        PlannedStep(
            id: "invoke-backup", title: "invoke backup of the PostgreSQL \(invoke.world.context.oldMajor) database (file names recorded)", kind: "inventree.backup",
            commands: PlannedStep.render([invoke.tasks.invokeCommand(invoke.planFlags.backupArguments)], redactor: invoke.world.redactor),
            mutates: true, compensation: nil, notes: ["kept in InvenTree's backup directory after the run"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let version = try await invoke.tasks.version()
        var record = try await invoke.tasks.backup(flags: InvokeFlags(version: version), progress: context.progress)
        record.hostDirectory = InvenTreeTasks.hostPath(of: record.directory, service: invoke.world.context.project.config.services[invoke.server])
        try record.write(to: invoke.recordPath)
        for line in record.lines { context.progress("invoke backup wrote \(line)") }
        let plugins = try await ActivePlugins.read(invoke.world.context.connection(database: invoke.world.database.database))
        try ActivePlugins.write(plugins, to: invoke.pluginsPath)
        return StepOutcome(summary: "\(record.databaseFile ?? "?")" + (record.mediaFile.map { " + \($0)" } ?? "") + " (InvenTree \(version))",
                           data: try JSONValue(encoding: record))
    }
}

/// `invoke update --skip-backup` on the new, empty cluster creates InvenTree's schema. Plugin tables only
/// exist for active plugins, so the plugins that were active are activated and `invoke migrate` runs again
/// (the order `import-records` uses): InvenTree <= 1.0 restores without `--if-exists`, and a table in the
/// dump that the target lacks aborts the whole restore (InvenTree #8918).
struct InvokeSchemaStep: PlanStep {
    var invoke: InvokeWorld

    func planned() -> PlannedStep {
        let tasks = invoke.updateTasks(invoke.planFlags)
        var notes = ["--skip-backup: a plain update would back up this empty database, and a bare restore would pick that file",
                     "plugins active in the old database are activated and `invoke migrate` runs again for their tables"]
        if let note = invoke.world.context.packageIndex?.installLeftOutNote { notes.append(note) }
        return PlannedStep(
            id: "invoke-update", title: "Create the schema on PostgreSQL \(invoke.world.context.options.targetMajor): \(InvokeFlags.describe(tasks))",
            kind: "inventree.update",
            commands: PlannedStep.render(tasks.map { invoke.tasks.invokeCommand($0) }, redactor: invoke.world.redactor),
            mutates: true, compensation: nil, notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let version = try InvenTreeBackupRecord.read(invoke.recordPath).version
        let flags = InvokeFlags(version: InvenTreeVersion(parsing: version) ?? InvenTreeVersion(1, 1, 0))
        for task in invoke.updateTasks(flags) {
            try await invoke.tasks.invoke(task, onLine: { line in
                if line.contains("migrations") || line.contains("update complete") { context.progress(line.trimmingCharacters(in: .whitespaces)) }
            })
        }
        let plugins = (try? ActivePlugins.read(from: invoke.pluginsPath)) ?? []
        guard !plugins.isEmpty else { return StepOutcome(summary: "schema created") }
        let parameters = invoke.world.context.connection(database: invoke.world.database.database)
        try await ActivePlugins.activate(plugins, parameters)
        try await invoke.tasks.invoke(["migrate"])
        return StepOutcome(summary: "schema created; plugins activated and migrated: \(plugins.joined(separator: ", "))")
    }
}

/// `invoke restore --db-file <recorded>` without media (the media directory never moved), server and
/// worker still stopped. Refuses first when the target lacks a table of the old database and this
/// InvenTree restores without `--if-exists`.
struct InvokeRestoreStep: PlanStep {
    var invoke: InvokeWorld

    func planned() throws -> PlannedStep {
        let args = try invoke.planFlags.restoreArguments(dbFile: "<recorded database file>", mediaFile: nil)
        return PlannedStep(
            id: "invoke-restore", title: "invoke restore --db-file <the recorded file>, database only", kind: "inventree.restore",
            commands: PlannedStep.render([invoke.tasks.invokeCommand(args)], redactor: invoke.world.redactor),
            mutates: true, compensation: nil, notes: ["flags follow the InvenTree version (--ignore-media up to 1.0, --skip-media from 1.1)"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let record = try InvenTreeBackupRecord.read(invoke.recordPath)
        guard let dbFile = record.databaseFile else { throw UpshiftError("the recorded backup has no database file") }
        let flags = InvokeFlags(version: InvenTreeVersion(parsing: record.version) ?? InvenTreeVersion(1, 1, 0))
        if !flags.restoreUsesIfExists {
            let before = try FingerprintFile.load(FingerprintStep.path(invoke.world.runFolder, .before))
            let name = invoke.world.database.database
            let oldTables = Set(before.databases.first { $0.name == name }?.tables.map(\.qualifiedName) ?? [])
            let parameters = invoke.world.context.connection(database: name)
            let newTables = Set(try await Blocking.run { () throws -> [String] in
                try Connection(parameters).query("SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')").rows.compactMap { try $0.string("t") }
            })
            let missing = oldTables.subtracting(newTables).sorted()
            guard missing.isEmpty else {
                throw UpshiftError("the new schema lacks tables of the old database (\(missing.joined(separator: ", "))); InvenTree \(record.version) restores without --if-exists and would abort (InvenTree #8918)",
                                   hint: "install and activate the plugins those tables belong to, or use --method dump")
            }
        }
        try await invoke.tasks.invoke(try flags.restoreArguments(dbFile: dbFile, mediaFile: nil), onLine: { line in
            if line.hasPrefix("Restoring") { context.progress(line) }
        })
        return StepOutcome(summary: "restored \(dbFile)")
    }
}

/// Verification as in the dump method — every table's rows and checksum against the old cluster — except
/// the data of `django_session`, which InvenTree's backups deliberately leave out (users log in again).
struct InvokeVerifyStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "verify", title: "Verify: fingerprint the new cluster against the old one (django_session data excepted); log in as the application",
                    kind: "pg.verify", mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let after = try await Fingerprinter.captureAsync(world.context.connection())
        try FingerprintFile.save(after, to: FingerprintStep.path(world.runFolder, .after))
        let before = try FingerprintFile.load(FingerprintStep.path(world.runFolder, .before))
        let differences = SessionData.excluded(before).diff(against: SessionData.excluded(after))
        guard differences.isEmpty else {
            throw UpshiftError("verification failed: the new cluster differs from the old one:\n  " + differences.prefix(20).joined(separator: "\n  "))
        }
        try await ApplicationLogin.check(world: world)
        let tables = after.databases.reduce(0) { $0 + $1.tables.count }
        let rows = after.databases.reduce(0) { $0 + $1.totalRows }
        let sessions = SessionData.rows(before) - SessionData.rows(after)
        return StepOutcome(summary: "identical: \(tables) tables, \(rows) rows" + (sessions > 0 ? "; \(sessions) django_session rows not carried (InvenTree backups exclude them)" : ""))
    }
}
