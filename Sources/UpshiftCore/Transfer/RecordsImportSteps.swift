import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What the import steps share: the checked context, the run folder and the host file to copy in.
public struct RecordsImportWorld: Sendable {
    public var context: RecordsImportContext
    public var runFolder: RunFolder
    /// The UTF-8 export file on the host that is copied into the target.
    public var hostFile: String

    public init(context: RecordsImportContext, runFolder: RunFolder, hostFile: String) {
        self.context = context
        self.runFolder = runFolder
        self.hostFile = hostFile
    }

    var target: InvenTreeEndpoint { context.target }
    var redactor: Redactor { target.redactor }

    /// The undo of anything that changed the target's database: stop its application, restore upshift's dump.
    func restoreSpec() throws -> CompensationSpec {
        try RestoreDumpCompensator.spec(RestoreDumpPayload(
            handle: target.handle, service: target.database.service, applicationServices: target.appServices,
            dumpPath: context.dumpPath, readyTimeout: context.readyTimeout))
    }
}

/// upshift's own `pg_dump -Fc` of the target database (the update engineer's `DatabaseDump`): what a failed
/// import is rolled back to. Kept after the run, 0600, with a SHA-256 sidecar.
struct TargetBackupStep: PlanStep {
    var world: RecordsImportWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "backup-target", title: "Back up the target database: pg_dump -Fc", kind: "records.backup",
                    commands: PlannedStep.render([world.target.dump.dumpCommand()], redactor: world.redactor) + ["> \(world.context.dumpPath)"],
                    mutates: false, notes: ["kept after the run (0600, SHA-256 sidecar); a failed import is restored from it"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let file = try await world.target.dump.dump(to: world.context.dumpPath, progress: context.progress)
        return StepOutcome(summary: "\((file.path as NSString).lastPathComponent) (\(ByteFormat.string(file.bytes)))", data: try JSONValue(encoding: file))
    }
}

/// Stops the target's server and worker so nothing writes while records are replaced.
struct StopTargetApplicationStep: PlanStep {
    var world: RecordsImportWorld

    func planned() throws -> PlannedStep {
        let services = world.context.runningAppServices
        return PlannedStep(
            id: "stop-app", title: services.isEmpty ? "No application service of the target is running" : "Stop the target's application: \(services.joined(separator: ", "))",
            kind: "records.stop-app", commands: services.isEmpty ? [] : PlannedStep.render([world.target.compose.cli.command(["stop", "-t", "30"] + services)], redactor: world.redactor),
            mutates: true,
            compensation: try ComposeServicesCompensator.spec(handle: world.target.handle, services: services, action: .start, description: "start \(services.isEmpty ? "nothing" : services.joined(separator: ", ")) again"))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await world.target.compose.stop(world.context.runningAppServices, timeout: 30)
        return StepOutcome(summary: world.context.runningAppServices.isEmpty ? "nothing to stop" : "stopped \(world.context.runningAppServices.joined(separator: ", "))")
    }
}

/// `invoke migrate` on the target: the schema must exist at the right version before records load
/// (reference §7.1; `update` would also pip-install, which needs the network).
struct MigrateTargetStep: PlanStep {
    var world: RecordsImportWorld

    func planned() throws -> PlannedStep {
        PlannedStep(id: "migrate-target", title: "Initialise the target's schema: invoke migrate", kind: "records.migrate",
                    commands: PlannedStep.render([world.target.tasks.invokeCommand(["migrate"])], redactor: world.redactor),
                    mutates: true, compensation: try world.restoreSpec())
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let result = try await world.target.tasks.migrate(progress: context.progress)
        let applied = InvokeOutput.stripANSI(result.stdoutText).split(whereSeparator: \.isNewline).filter { $0.contains("Applying") }.count
        return StepOutcome(summary: "invoke migrate completed (\(applied) migrations applied)")
    }
}

/// Copies the file into the target's data volume and runs `invoke import-records` with long flags; up to
/// InvenTree 1.2, plugin rows are imported in a second pass after `invoke migrate` (see
/// `RecordsImportContext.stagesPluginsItself`). The copied files are removed afterwards.
struct ImportRecordsStep: PlanStep {
    var world: RecordsImportWorld

    static func arguments(_ world: RecordsImportWorld) throws -> [String] {
        try world.context.flags.importArguments(filename: world.context.containerPath, options: world.context.options)
    }

    func planned() throws -> PlannedStep {
        let ctx = world.context
        var commands = [world.target.tasks.runCommand(["-c", "cat > \(ctx.containerPath)"], entrypoint: "sh"), world.target.tasks.invokeCommand(try Self.arguments(world))]
        var notes = ["\(ctx.file.totalRecords) records of \(ctx.file.counts.count) models from \(ctx.sourcePath)"]
        if ctx.stagesPluginsItself {
            var second = ctx.options
            second.clear = false
            commands.append(world.target.tasks.invokeCommand(["migrate"]))
            commands.append(world.target.tasks.invokeCommand(try ctx.flags.importArguments(filename: ctx.containerPath + ".plugins.json", options: second)))
            notes.append("InvenTree \(ctx.version) loads plugin rows before the plugin is active and drops them: upshift imports \(ctx.file.pluginModels.joined(separator: ", ")) in a second pass after migrate")
        }
        return PlannedStep(id: "import", title: "Import records: invoke import-records" + (ctx.options.clear ? " --clear" : ""), kind: "records.import",
                           commands: PlannedStep.render(commands, redactor: world.redactor), mutates: true, compensation: try world.restoreSpec(), notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let target = world.target
        let copied = [world.context.containerPath, world.context.containerPath + ".plugins.json"]
        do {
            let outcome = try await load(context)
            for path in copied { try? await target.remove(path) }
            return outcome
        } catch {
            for path in copied { try? await target.remove(path) }
            throw error
        }
    }

    private func load(_ context: StepContext) async throws -> StepOutcome {
        let ctx = world.context
        let target = world.target
        if ctx.stagesPluginsItself {
            let raw = try Data(contentsOf: URL(fileURLWithPath: world.hostFile))
            let split = try RecordsFile.splitPluginRecords(raw)
            let corePath = world.runFolder.path + "/import-core.json", pluginPath = world.runFolder.path + "/import-plugins.json"
            try Self.write(split.core, to: corePath)
            try Self.write(split.plugin, to: pluginPath)
            context.progress("copying \(ByteFormat.string(Int64(split.core.count))) into \(target.project.name):\(ctx.containerPath)")
            try await target.copyIn(corePath, to: ctx.containerPath)
            try await target.tasks.importRecords(from: ctx.containerPath, version: ctx.version, options: ctx.options, progress: context.progress)
            context.progress("invoke migrate (creates the tables of plugins the import activated)")
            try await target.tasks.migrate(progress: context.progress)
            try await target.copyIn(pluginPath, to: ctx.containerPath + ".plugins.json")
            var second = ctx.options
            second.clear = false
            try await target.tasks.importRecords(from: ctx.containerPath + ".plugins.json", version: ctx.version, options: second, progress: context.progress)
            return StepOutcome(summary: "imported \(ctx.file.totalRecords - split.pluginCount) records, then \(split.pluginCount) plugin records after migrate")
        }
        context.progress("copying \(ByteFormat.string(Int64(ctx.file.bytes))) into \(target.project.name):\(ctx.containerPath)")
        try await target.copyIn(world.hostFile, to: ctx.containerPath)
        try await target.tasks.importRecords(from: ctx.containerPath, version: ctx.version, options: ctx.options, progress: context.progress)
        return StepOutcome(summary: "imported \(ctx.file.totalRecords) records of \(ctx.file.counts.count) models")
    }

    static func write(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw UpshiftError("cannot write \(path)")
        }
    }
}

/// Per-model record counts: the export file's against `count(*)` of each model's table in the target.
struct VerifyRecordCountsStep: PlanStep {
    var world: RecordsImportWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "verify-records", title: "Verify per-model record counts (file vs target database)", kind: "records.verify", mutates: false,
                    notes: ["\(world.context.expectedCounts.count) models, \(world.context.expectedCounts.values.reduce(0, +)) records expected"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let expected = world.context.expectedCounts
        let actual = try await world.target.modelCounts(Array(expected.keys))
        let problems = Self.mismatches(expected: expected, actual: actual)
        guard problems.isEmpty else {
            throw UpshiftError("after the import the target's record counts differ from the file: \(problems.joined(separator: "; "))")
        }
        try? Data(world.context.file.countLines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: world.runFolder.path + "/record-counts.txt"))
        return StepOutcome(summary: "\(expected.count) models, \(expected.values.reduce(0, +)) records: equal", data: try JSONValue(encoding: actual))
    }

    /// `model: file N, target M` for every model that differs (a missing table counts as no rows).
    static func mismatches(expected: [String: Int], actual: [String: Int]) -> [String] {
        expected.keys.sorted().compactMap { label in
            let found = actual[label]
            guard found != expected[label] else { return nil }
            return "\(label): file \(expected[label]!), target \(found.map(String.init) ?? "no table \(InvenTreeEndpoint.table(for: label))")"
        }
    }
}

/// Starts the target's application services that were running before.
struct StartTargetApplicationStep: PlanStep {
    var world: RecordsImportWorld

    func planned() throws -> PlannedStep {
        let services = world.context.runningAppServices
        return PlannedStep(
            id: "start-app", title: services.isEmpty ? "Nothing to start" : "Start the target's application: \(services.joined(separator: ", "))",
            kind: "records.start-app", commands: services.isEmpty ? [] : PlannedStep.render([world.target.compose.cli.command(["up", "-d", "--no-deps"] + services)], redactor: world.redactor),
            mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let services = world.context.runningAppServices
        guard !services.isEmpty else { return StepOutcome(summary: "nothing to start") }
        try await world.target.compose.up(services)
        return StepOutcome(summary: "started \(services.joined(separator: ", "))")
    }
}
