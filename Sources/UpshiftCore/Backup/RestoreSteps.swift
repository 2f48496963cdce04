import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What the restore steps share: the checked context and the runner that reaches its project.
struct RestoreWorld: Sendable {
    var context: RestoreContext
    var runner: any CommandRunning

    var compose: ComposeOperations {
        ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool), redactor: context.redactor)
    }

    var dump: DatabaseDump { DatabaseDump(compose: compose, database: context.database) }
}

/// Brings the database up and dumps what it holds now: the restore's undo, kept after the run.
struct SafetyDumpStep: PlanStep {
    var world: RestoreWorld

    func planned() throws -> PlannedStep {
        let c = world.context
        return PlannedStep(
            id: "safety-dump", title: "Start \(c.database.service) and dump what it holds now (pg_dump -Fc)", kind: "restore.safety-dump",
            commands: PlannedStep.render([world.compose.cli.command(["up", "-d", "--no-deps", c.database.service]), world.dump.dumpCommand()], redactor: c.redactor) + ["> \(c.safetyDumpPath)"],
            mutates: true, compensation: nil, notes: ["kept after the run"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let c = world.context
        let dump = world.dump
        try await world.compose.up([c.database.service])
        try await dump.waitUntilReady(timeout: .seconds(c.readyTimeout))
        let file = try await dump.dump(to: c.safetyDumpPath, progress: context.progress)
        return StepOutcome(summary: "\((file.path as NSString).lastPathComponent) (\(ByteFormat.string(file.bytes)))", data: try JSONValue(encoding: file))
    }
}

/// Restores the named backup: InvenTree's `invoke restore` of the running version, or an upshift dump
/// (and media archive). Undone by restoring the safety dump.
struct RestoreBackupStep: PlanStep {
    var world: RestoreWorld

    func planned() throws -> PlannedStep {
        let c = world.context
        let restoreCommands: [Command]
        let title: String
        switch c.source {
        case .inventree(let version, let server, let dbFile, let mediaFile):
            let tasks = InvenTreeTasks(compose: world.compose, server: server, noDeps: true)
            restoreCommands = [tasks.invokeCommand(try InvokeFlags(version: version).restoreArguments(dbFile: dbFile, mediaFile: mediaFile))]
            title = "invoke restore --db-file \(dbFile)" + (mediaFile.map { " --media-file \($0)" } ?? " (database only)")
        case .dump(let path, let media):
            restoreCommands = world.dump.restoreCommands()
            title = "Restore \((path as NSString).lastPathComponent) (drop database, pg_restore --create)" + (media.map { " and extract \(($0.archive as NSString).lastPathComponent)" } ?? "")
        }
        return PlannedStep(
            id: "restore", title: title, kind: "restore.restore", commands: PlannedStep.render(restoreCommands, redactor: c.redactor), mutates: true,
            compensation: try RestoreDumpCompensator.spec(RestoreDumpPayload(
                handle: c.handle, service: c.database.service, applicationServices: c.applicationServices, dumpPath: c.safetyDumpPath, readyTimeout: c.readyTimeout)),
            notes: ["media files are only added, never removed or overwritten (django-dbbackup mediarestore); undo covers the database"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        switch world.context.source {
        case .inventree(let version, let server, let dbFile, let mediaFile):
            let tasks = InvenTreeTasks(compose: world.compose, server: server, noDeps: true)
            try await tasks.invoke(try InvokeFlags(version: version).restoreArguments(dbFile: dbFile, mediaFile: mediaFile), onLine: { line in
                if line.hasPrefix("Restoring") { context.progress(line) }
            })
            return StepOutcome(summary: "restored \(dbFile)" + (mediaFile.map { " and \($0)" } ?? ""))
        case .dump(let path, let media):
            try await world.dump.restore(from: path, expectedSHA256: nil, progress: context.progress)
            if let media { try await MediaArchive.extract(archive: media.archive, into: media.directory, runner: world.runner) }
            return StepOutcome(summary: "restored \((path as NSString).lastPathComponent)")
        }
    }
}

/// Starts the application services that were running, and waits until they stay up.
struct RestoreStartApplicationStep: PlanStep {
    var world: RestoreWorld

    func planned() throws -> PlannedStep {
        let c = world.context
        return PlannedStep(
            id: "start-app", title: c.runningApplicationServices.isEmpty ? "Nothing to start" : "Start \(c.runningApplicationServices.joined(separator: ", "))",
            kind: "restore.start-app", commands: c.runningApplicationServices.isEmpty ? [] : PlannedStep.render([world.compose.cli.command(["up", "-d", "--no-deps"] + c.runningApplicationServices)], redactor: c.redactor),
            mutates: true,
            compensation: try ComposeServicesCompensator.spec(handle: c.handle, services: c.runningApplicationServices, action: .stop, description: "stop \(c.runningApplicationServices.joined(separator: ", "))"))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let c = world.context
        guard !c.runningApplicationServices.isEmpty else { return StepOutcome(summary: "nothing to start") }
        try await world.compose.up(c.runningApplicationServices)
        try await ComposeOperations.waitStable(world.compose, services: c.runningApplicationServices, timeout: c.readyTimeout)
        return StepOutcome(summary: "running: \(c.runningApplicationServices.joined(separator: ", "))")
    }
}
