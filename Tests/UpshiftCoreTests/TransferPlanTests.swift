import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// The plans of `import` and `transfer` built from checked contexts (no engine): step order, what is undone
/// how, long flags only, the plugin second pass for InvenTree < 1.3, media steps only with --include-media.
struct TransferPlanTests {
    static let runID = RunID("20261128-140000-abcd")!

    func endpoint(name: String, directory: String? = nil) throws -> InvenTreeEndpoint {
        var config = try ComposeFixtures.config("inventree")
        config.name = name
        let dir = directory ?? ComposeFixtures.directory("inventree")
        let location = ComposeProjectLocation(directory: dir, files: ["\(dir)/docker-compose.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: ["\(dir)/.env"])
        let runner = RecordingRunner(strict: true)
        let cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 2, minor: 29, patch: 0)), location: location, projectName: name)
        return try InvenTreeEndpoint(project: ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions()), runner: runner)
    }

    func file(plugin: Bool) -> RecordsFile {
        var counts = ["part.part": 3, "auth.user": 1, "plugin.pluginconfig": 1]
        if plugin { counts["barcodeplus.scanlog"] = 2 }
        return RecordsFile(metadata: nil, counts: counts, invalidEntries: 0, bytes: 100)
    }

    func importPlan(version: InvenTreeVersion, plugin: Bool, options: ImportRecordsOptions = ImportRecordsOptions(clear: true)) throws -> Plan {
        let target = try endpoint(name: "dst")
        let context = RecordsImportContext(runID: Self.runID, target: target, version: version, sourcePath: "/x/records.json", file: file(plugin: plugin),
                                           options: options, runningAppServices: ["inventree-server", "inventree-worker"], userData: [:], warnings: [])
        let world = RecordsImportWorld(context: context, runFolder: RunFolder(projectDirectory: "/tmp/dst", runID: Self.runID), hostFile: "/x/records.json")
        return try RecordsImportPlanner(world: world).plan(command: "import -f /x/records.json --clear").plan
    }

    /// Upstream's compose file names every container: two such installations cannot both be up. Refused
    /// before anything runs (the strict runner has no stubs: no command was attempted).
    @Test func sharedContainerNamesAreRefusedFirst() async throws {
        let source = try endpoint(name: "src")
        var target = try endpoint(name: "dst", directory: "/tmp/upshift-transfer-dst")
        // The captured fixture is upstream's shape: every service named.
        #expect(TransferPreflight.sharedContainerNames(source.project.config, target.project.config) == ["inventree-cache", "inventree-db", "inventree-server", "inventree-worker"])
        do {
            _ = try await TransferPreflight(source: source, target: target, includeMedia: false, runID: Self.runID).run()
            Issue.record("two installations with the same container names accepted")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage && error.message.contains("both name their containers inventree-cache, inventree-db"), "\(error)")
            #expect(error.hint?.contains("give the target other names") == true)
        }
        for name in target.project.config.serviceNames { target.project.config.services[name]?.containerName = "new-\(name)" }
        #expect(TransferPreflight.sharedContainerNames(source.project.config, target.project.config) == nil)
    }

    @Test func importPlanUndoesWithTheDumpAndRestartsTheApp() throws {
        let plan = try importPlan(version: InvenTreeVersion(1, 3, 0), plugin: true)
        #expect(plan.steps.map(\.id) == ["backup-target", "stop-app", "import", "verify-records", "start-app"])
        #expect(plan.step(id: "stop-app")?.compensation?.kind == "compose.services")
        #expect(plan.step(id: "import")?.compensation?.kind == RestoreDumpCompensator.kind)
        let commands = plan.step(id: "import")!.commands.joined(separator: "\n")
        #expect(commands.contains("invoke import-records --filename /home/inventree/data/backup/upshift-import-\(Self.runID).json --clear"))
        #expect(!commands.contains(".plugins.json"), "1.3 stages plugins itself")
        #expect(plan.steps.allSatisfy { $0.commands.allSatisfy { !$0.contains("Sample-InvenTree-DB-pw") } })
        try plan.validate()
    }

    @Test func importBeforeOneThreeLoadsPluginRowsInASecondPass() throws {
        let plan = try importPlan(version: InvenTreeVersion(1, 0, 0), plugin: true)
        let commands = plan.step(id: "import")!.commands.joined(separator: "\n")
        #expect(commands.contains("invoke migrate"))
        #expect(commands.contains("upshift-import-\(Self.runID).json.plugins.json"))
        #expect(plan.step(id: "import")!.notes.contains { $0.contains("barcodeplus.scanlog") })
        let noPlugin = try importPlan(version: InvenTreeVersion(1, 0, 0), plugin: false)
        #expect(!noPlugin.step(id: "import")!.commands.joined().contains(".plugins.json"))
    }

    @Test func excludePluginsLeavesPluginModelsOutOfTheCountCheck() throws {
        let target = try endpoint(name: "dst")
        let context = RecordsImportContext(runID: Self.runID, target: target, version: InvenTreeVersion(1, 3, 0), sourcePath: "f", file: file(plugin: true),
                                           options: ImportRecordsOptions(clear: true, excludePlugins: true), runningAppServices: [], userData: [:], warnings: [])
        #expect(context.expectedCounts == ["part.part": 3, "auth.user": 1])
        #expect(!context.stagesPluginsItself)
    }

    func transferPlan(media: Bool) throws -> Plan {
        let context = TransferContext(runID: Self.runID, source: try endpoint(name: "src"), target: try endpoint(name: "dst"), version: InvenTreeVersion(1, 0, 0),
                                      includeMedia: media, exportOptions: ExportRecordsOptions(), targetRunningAppServices: ["inventree-server"],
                                      targetUserData: [:], plugins: ["inventree-barcodeplus"], warnings: [])
        return try TransferPlanner(world: TransferWorld(context: context, runFolder: RunFolder(projectDirectory: "/tmp/dst", runID: Self.runID))).plan(command: "transfer --to /tmp/dst").plan
    }

    @Test func transferPlanOrderAndUndo() throws {
        let plain = try transferPlan(media: false)
        #expect(plain.steps.map(\.id) == ["export", "backup-target", "stop-app", "migrate-target", "import", "verify-records", "start-app"])
        #expect(!plain.step(id: "export")!.mutates && plain.step(id: "export")!.commands[0].contains("-p src "))
        #expect(plain.step(id: "export")!.commands[0].contains("invoke export-records --filename /home/inventree/data/backup/upshift-export-\(Self.runID).json --overwrite"))
        #expect(plain.step(id: "migrate-target")!.commands[0].contains("-p dst "))
        #expect(plain.step(id: "migrate-target")?.compensation?.kind == RestoreDumpCompensator.kind)
        let media = try transferPlan(media: true)
        #expect(media.steps.map(\.id) == ["export", "backup-target", "stop-app", "migrate-target", "import", "copy-media", "verify-records", "verify-media", "start-app"])
        #expect(media.step(id: "copy-media")?.compensation?.kind == RestoreMediaCompensator.kind)
        #expect(CompensationRegistry.upshift(runner: RecordingRunner()).kinds.contains(RestoreMediaCompensator.kind))
        #expect(media.summary.contains { $0.contains("src") && $0.contains("only read") })
    }
}
