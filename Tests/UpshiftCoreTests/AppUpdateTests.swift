import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// `update` preflight and plan on a recorded engine (the captured InvenTree fixture: INVENTREE_TAG=0.17.0
/// in .env, server and worker on the same variable).
struct AppUpdateTests {
    func project(runner: RecordingRunner) throws -> ComposeProject {
        let config = try ComposeFixtures.config("inventree")
        let dir = ComposeFixtures.directory("inventree")
        let location = ComposeProjectLocation(directory: dir, files: ["\(dir)/docker-compose.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: ["\(dir)/.env"])
        let cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 2, minor: 29, patch: 0)), location: location, projectName: config.name)
        return ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions())
    }

    func engine(_ project: ComposeProject, reports version: String, client: Int = 15,
                index: String = #"{"host": "pypi.org", "reachable": true, "problem": null, "plugins": []}"#) -> RecordingRunner {
        let runner = project.cli.runner as! RecordingRunner
        let compose = project.cli.command([]).argv
        runner.stub(compose + ["ps"], stdout: #"{"Name":"a","Service":"inventree-db","State":"running"}"# + "\n" + #"{"Name":"b","Service":"inventree-server","State":"running"}"#)
        runner.stub(compose + ["run", "--rm", "-T", "--no-deps", "inventree-server", "invoke", "version"], stdout: "\u{1B}[94mx\u{1B}[0m\nVersions:\nInvenTree   \(version)\nAPI  294\n")
        runner.stub(["docker", "pull"], stdout: "ok\n")
        runner.stub(compose + ["run", "--rm", "-T", "--no-deps", "--entrypoint", "pg_dump", "inventree-server", "--version"], stdout: "pg_dump (PostgreSQL) \(client).18\n")
        runner.stub(compose + ["run", "--rm", "-T", "--no-deps", "--entrypoint", "python3", "inventree-server", "-c", PackageIndexProbe.script], stdout: "UPSHIFT-INDEX \(index)\n")
        return runner
    }

    func preflight(to target: String, reported: String = "0.17.0", allowDowngrade: Bool = false, client: Int = 15,
                   index: String = #"{"host": "pypi.org", "reachable": true, "problem": null, "plugins": []}"#) async throws -> (AppUpdateContext, RecordingRunner) {
        let runner = RecordingRunner(strict: true)
        let project = try project(runner: runner)
        _ = engine(project, reports: reported, client: client, index: index)
        let context = try await AppUpdatePreflight(
            project: project, options: AppUpdateOptions(targetVersion: target, allowDowngrade: allowDowngrade), runner: runner,
            runID: RunID("20261128-120000-abcd")!, environment: [:]).run()
        return (context, runner)
    }

    @Test func preflightReadsVersionsAndServices() async throws {
        let (context, runner) = try await preflight(to: "1.0.0")
        #expect(context.isInvenTree)
        #expect(context.currentVersion == InvenTreeVersion(0, 17, 0))
        #expect(context.targetVersion == InvenTreeVersion(1, 0, 0))
        #expect(context.appServices == ["inventree-server", "inventree-worker"])
        #expect(context.runningApplicationServices == ["inventree-server"])
        #expect(context.targetImage.description == "inventree/inventree:1.0.0")
        #expect(context.warnings.isEmpty)
        #expect(runner.argvs.contains(["docker", "pull", "inventree/inventree:1.0.0"]))
        if case .envVariable(let name, _, _) = context.imageSource.kind { #expect(name == "INVENTREE_TAG") } else { Issue.record("not the .env variable: \(context.imageSource.kind)") }
    }

    @Test func downgradeAndSameVersionAreRefused() async throws {
        await #expect(throws: UpshiftError.self) { _ = try await preflight(to: "0.16.0") }
        await #expect(throws: UpshiftError.self) { _ = try await preflight(to: "0.17.0") }
        await #expect(throws: UpshiftError.self) { _ = try await preflight(to: "stable") }
        let (forced, _) = try await preflight(to: "0.16.0", allowDowngrade: true)
        #expect(forced.targetVersion == InvenTreeVersion(0, 16, 0))
    }

    @Test func skippingTheStopOverIsWarned() async throws {
        let (context, _) = try await preflight(to: "1.3.0")
        #expect(context.warnings.contains { $0.contains("1.0.x stop-over") })
    }

    @Test func planOrderAndUndo() async throws {
        let (context, runner) = try await preflight(to: "1.0.0")
        let folder = RunFolder(projectDirectory: NSTemporaryDirectory() + "upshift-update-plan-\(UUID().uuidString)", runID: context.runID)
        let plan = try AppUpdatePlanner(world: AppUpdateWorld(context: context, runner: runner, runFolder: folder, environment: [:])).plan().plan
        #expect(plan.steps.map(\.id) == ["snapshot", "stop-app", "isolate-db", "fingerprint", "backup", "set-tag", "pull", "migrate", "start-stack", "verify"])
        #expect(plan.step(id: "migrate")?.compensation?.kind == RestoreDumpCompensator.kind)
        #expect(plan.step(id: "isolate-db")?.compensation?.kind == RestoreDatabaseServiceCompensator.kind)
        #expect(plan.step(id: "set-tag")?.compensation?.kind == RestoreSnapshotCompensator.kind)
        #expect(plan.step(id: "set-tag")?.notes.first?.contains("+INVENTREE_TAG=1.0.0") == true)
        #expect(plan.step(id: "migrate")?.commands.first?.hasSuffix("run --rm -T --no-deps inventree-server invoke update --skip-backup") == true)
        #expect(plan.step(id: "backup")?.commands.first?.hasSuffix("invoke backup") == true)
        #expect(context.skipInvokeBackup == nil && context.packageIndex?.reachable == true)
        // Nothing in the plan carries the database password.
        let text = String(decoding: try plan.jsonData(), as: UTF8.self)
        if let password = context.database.password { #expect(!text.contains(password.revealed)) }
        try? FileManager.default.removeItem(atPath: folder.projectDirectory)
    }

    /// The image's pg_dump 13 against the 15 server: invoke backup would abort the update, so it is left out.
    @Test func olderClientLeavesInvokeBackupOut() async throws {
        let (context, runner) = try await preflight(to: "1.0.0", client: 13)
        #expect(context.skipInvokeBackup?.contains("ships pg_dump 13, older than the PostgreSQL 15 server") == true, "\(String(describing: context.skipInvokeBackup))")
        let folder = RunFolder(projectDirectory: NSTemporaryDirectory() + "upshift-update-plan-\(UUID().uuidString)", runID: context.runID)
        let plan = try AppUpdatePlanner(world: AppUpdateWorld(context: context, runner: runner, runFolder: folder, environment: [:])).plan().plan
        let backup = try #require(plan.step(id: "backup"))
        #expect(!backup.commands.contains { $0.contains("invoke backup") })
        #expect(backup.notes.contains { $0.contains("invoke backup left out") })
        #expect(plan.summary.contains { $0.hasPrefix("invoke backup left out:") })
    }

    /// No package index: update's steps after pip; with plugins listed, the plan warns.
    @Test func offlineHostsMigrateWithoutPip() async throws {
        let offline = #"{"host": "pypi.org", "reachable": false, "problem": "Temporary failure in name resolution", "plugins": []}"#
        let (context, runner) = try await preflight(to: "1.3.0", index: offline)
        #expect(context.updateTasks == [["migrate"], ["static"], ["int.clean-settings"]])
        let folder = RunFolder(projectDirectory: NSTemporaryDirectory() + "upshift-update-plan-\(UUID().uuidString)", runID: context.runID)
        let plan = try AppUpdatePlanner(world: AppUpdateWorld(context: context, runner: runner, runFolder: folder, environment: [:])).plan().plan
        let migrate = try #require(plan.step(id: "migrate"))
        #expect(migrate.commands.map { $0.components(separatedBy: " inventree-server ").last ?? "" } == ["invoke migrate", "invoke static", "invoke int.clean-settings"])
        #expect(plan.summary.contains { $0.contains("package index pypi.org unreachable (Temporary failure in name resolution)") })
        let withPlugins = #"{"host": "pypi.org", "reachable": false, "problem": "Temporary failure in name resolution", "plugins": ["inventree-barcodeplus"]}"#
        let (warned, _) = try await preflight(to: "1.0.0", index: withPlugins)
        #expect(warned.warnings.contains { $0.contains("plugins.txt lists inventree-barcodeplus") })
    }
}

/// Backup helpers on a recorded engine and on local files.
struct BackupTests {
    @Test func invokeBackupRecordsExactlyTheNewFiles() async throws {
        let runner = RecordingRunner(strict: true)
        let dir = ComposeFixtures.directory("inventree")
        let location = ComposeProjectLocation(directory: dir, files: ["\(dir)/docker-compose.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: [])
        let cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 2, minor: 29, patch: 0)), location: location, projectName: "p")
        let tasks = InvenTreeTasks(compose: ComposeOperations(cli: cli, redactor: Redactor()), server: "inventree-server", noDeps: true)
        let run = cli.command([]).argv + ["run", "--rm", "-T", "--no-deps"]
        runner.stub(run + ["--entrypoint", "sh", "inventree-server", "-c"], stdout: "/b\nold.psql.bin.gz\nnew-2026-01-01-000000.psql.bin.gz\nnew-2026-01-01-000001.tar.gz\n")
        runner.stub(run + ["--entrypoint", "sh", "inventree-server", "-c"], stdout: "/b\nold.psql.bin.gz\n", times: 1)
        let hash = String(repeating: "a", count: 64)
        runner.stub(run + ["--entrypoint", "sh", "inventree-server", "-c", InvenTreeTasks.describeScript],
                    stdout: "10 \(hash) new-2026-01-01-000000.psql.bin.gz\n20 \(hash) new-2026-01-01-000001.tar.gz\n")
        runner.stub(run + ["inventree-server", "invoke", "backup"], stdout: "Writing file to new-2026-01-01-000000.psql.bin.gz\n")
        let record = try await tasks.backup(flags: InvokeFlags(version: InvenTreeVersion(1, 0, 0)))
        #expect(record.databaseFile == "new-2026-01-01-000000.psql.bin.gz")
        #expect(record.mediaFile == "new-2026-01-01-000001.tar.gz")
        #expect(record.files.map(\.bytes) == [10, 20])
        #expect(record.directory == "/b")
        #expect(runner.argvs.contains(run + ["inventree-server", "invoke", "backup"]))
    }

    @Test func failedTaskErrorCarriesTheTaskOutputNotComposeNoise() async throws {
        let runner = RecordingRunner(strict: true)
        let dir = ComposeFixtures.directory("inventree")
        let location = ComposeProjectLocation(directory: dir, files: ["\(dir)/docker-compose.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: [])
        let cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 2, minor: 29, patch: 0)), location: location, projectName: "p")
        let tasks = InvenTreeTasks(compose: ComposeOperations(cli: cli, redactor: Redactor(secrets: ["s3cret"])), server: "inventree-server")
        runner.stub(cli.command([]).argv + ["run"], exit: 1, stdout: "\u{1B}[91mERROR: InvenTree command failed: 'migrate'\u{1B}[0m\n", stderr: " Container p-run-1 Creating \npassword s3cret rejected\n")
        do {
            try await tasks.invoke(["update", "--skip-backup"])
            Issue.record("no error")
        } catch let error as UpshiftError {
            #expect(error.message.contains("ERROR: InvenTree command failed"))
            #expect(!error.message.contains("Container p-run-1"))
            #expect(!error.message.contains("s3cret"))
        }
    }

    @Test func dumpSidecarRoundTrips() throws {
        let path = NSTemporaryDirectory() + "upshift-dump-\(UUID().uuidString).dump"
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + ".sha256") }
        try Data("PGDMP".utf8).write(to: URL(fileURLWithPath: path))
        let file = try DumpFile.describe(path)
        try file.writeSidecar()
        #expect(DumpFile.readSidecar(path) == file.sha256)
        #expect(try String(contentsOfFile: path + ".sha256", encoding: .utf8) == "\(file.sha256)  \((path as NSString).lastPathComponent)\n")
        #expect(file.bytes == 5)
    }

    @Test func restoreUndoOfARunKilledBeforeItsDumpDoesNothing() async throws {
        let runner = RecordingRunner(strict: true)
        let payload = RestoreDumpPayload(handle: ComposeHandle(location: ComposeProjectLocation(directory: "/x", files: ["/x/c.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: []), projectName: "x"),
                                         service: "db", applicationServices: ["app"], dumpPath: "/nonexistent/\(UUID().uuidString).dump")
        try await RestoreDumpCompensator(runner: runner).compensate(try RestoreDumpCompensator.spec(payload), state: .partial, context: CompensationContext(runID: RunID("20261128-120000-abcd")!))
        #expect(runner.commands.isEmpty)
        await #expect(throws: UpshiftError.self) {
            try await RestoreDumpCompensator(runner: runner).compensate(try RestoreDumpCompensator.spec(payload), state: .completed(StepOutcome()), context: CompensationContext(runID: RunID("20261128-120000-abcd")!))
        }
    }
}
