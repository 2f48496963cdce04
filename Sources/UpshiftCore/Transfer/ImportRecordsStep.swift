import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

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
