import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The journaled plan of `upshift restore`: stop the application (InvenTree: server and worker, so nothing
/// holds connections or migrates during `pg_restore --clean`), bring the database up, take a safety dump
/// of what is there now, restore the named backup, start the application again. Undo of the restore puts
/// the safety dump back.
public struct RestorePlanner: Sendable {
    public var context: RestoreContext
    public var runner: any CommandRunning

    public init(context: RestoreContext, runner: any CommandRunning) {
        self.context = context
        self.runner = runner
    }

    var compose: ComposeOperations {
        ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool), redactor: context.redactor)
    }

    var dump: DatabaseDump { DatabaseDump(compose: compose, database: context.database) }

    public func steps() throws -> [ExecutableStep] {
        let c = context
        let compose = self.compose
        let dump = self.dump
        let stop = PlannedStep(
            id: "stop-app", title: c.applicationServices.isEmpty ? "No application service to stop" : "Stop \(c.applicationServices.joined(separator: ", "))",
            kind: "restore.stop-app", commands: c.applicationServices.isEmpty ? [] : PlannedStep.render([compose.cli.command(["stop"] + c.applicationServices)], redactor: c.redactor),
            mutates: true,
            compensation: try ComposeServicesCompensator.spec(handle: c.handle, services: c.runningApplicationServices, action: .start,
                                                              description: "start \(c.runningApplicationServices.isEmpty ? "nothing" : c.runningApplicationServices.joined(separator: ", ")) again"))
        let safety = PlannedStep(
            id: "safety-dump", title: "Start \(c.database.service) and dump what it holds now (pg_dump -Fc)", kind: "restore.safety-dump",
            commands: PlannedStep.render([compose.cli.command(["up", "-d", "--no-deps", c.database.service]), dump.dumpCommand()], redactor: c.redactor) + ["> \(c.safetyDumpPath)"],
            mutates: true, compensation: nil, notes: ["kept after the run"])
        let restoreCommands: [Command]
        let title: String
        switch c.source {
        case .inventree(let version, let server, let dbFile, let mediaFile):
            let tasks = InvenTreeTasks(compose: compose, server: server, noDeps: true)
            restoreCommands = [tasks.invokeCommand(try InvokeFlags(version: version).restoreArguments(dbFile: dbFile, mediaFile: mediaFile))]
            title = "invoke restore --db-file \(dbFile)" + (mediaFile.map { " --media-file \($0)" } ?? " (database only)")
        case .dump(let path, let media):
            restoreCommands = dump.restoreCommands()
            title = "Restore \((path as NSString).lastPathComponent) (drop database, pg_restore --create)" + (media.map { " and extract \(($0.archive as NSString).lastPathComponent)" } ?? "")
        }
        let restore = PlannedStep(
            id: "restore", title: title, kind: "restore.restore", commands: PlannedStep.render(restoreCommands, redactor: c.redactor), mutates: true,
            compensation: try RestoreDumpCompensator.spec(RestoreDumpPayload(
                handle: c.handle, service: c.database.service, applicationServices: c.applicationServices, dumpPath: c.safetyDumpPath, readyTimeout: c.readyTimeout)),
            notes: ["media files are only added, never removed or overwritten (django-dbbackup mediarestore); undo covers the database"])
        let start = PlannedStep(
            id: "start-app", title: c.runningApplicationServices.isEmpty ? "Nothing to start" : "Start \(c.runningApplicationServices.joined(separator: ", "))",
            kind: "restore.start-app", commands: c.runningApplicationServices.isEmpty ? [] : PlannedStep.render([compose.cli.command(["up", "-d", "--no-deps"] + c.runningApplicationServices)], redactor: c.redactor),
            mutates: true,
            compensation: try ComposeServicesCompensator.spec(handle: c.handle, services: c.runningApplicationServices, action: .stop, description: "stop \(c.runningApplicationServices.joined(separator: ", "))"))
        let runner = self.runner
        return [
            ExecutableStep(stop, action: ClosureStepAction { _ in
                try await compose.stop(c.applicationServices, timeout: 60)
                return StepOutcome(summary: c.applicationServices.isEmpty ? "nothing to stop" : "stopped \(c.applicationServices.joined(separator: ", "))")
            }),
            ExecutableStep(safety, action: ClosureStepAction { context in
                try await compose.up([c.database.service])
                try await dump.waitUntilReady(timeout: .seconds(c.readyTimeout))
                let file = try await dump.dump(to: c.safetyDumpPath, progress: context.progress)
                return StepOutcome(summary: "\((file.path as NSString).lastPathComponent) (\(ByteFormat.string(file.bytes)))", data: try JSONValue(encoding: file))
            }),
            ExecutableStep(restore, action: ClosureStepAction { context in
                switch c.source {
                case .inventree(let version, let server, let dbFile, let mediaFile):
                    let tasks = InvenTreeTasks(compose: compose, server: server, noDeps: true)
                    try await tasks.invoke(try InvokeFlags(version: version).restoreArguments(dbFile: dbFile, mediaFile: mediaFile), onLine: { line in
                        if line.hasPrefix("Restoring") { context.progress(line) }
                    })
                    return StepOutcome(summary: "restored \(dbFile)" + (mediaFile.map { " and \($0)" } ?? ""))
                case .dump(let path, let media):
                    try await dump.restore(from: path, expectedSHA256: nil, progress: context.progress)
                    if let media { try await MediaArchive.extract(archive: media.archive, into: media.directory, runner: runner) }
                    return StepOutcome(summary: "restored \((path as NSString).lastPathComponent)")
                }
            }),
            ExecutableStep(start, action: ClosureStepAction { _ in
                guard !c.runningApplicationServices.isEmpty else { return StepOutcome(summary: "nothing to start") }
                try await compose.up(c.runningApplicationServices)
                try await ComposeOperations.waitStable(compose, services: c.runningApplicationServices, timeout: c.readyTimeout)
                return StepOutcome(summary: "running: \(c.runningApplicationServices.joined(separator: ", "))")
            }),
        ]
    }

    public func plan() throws -> Plan {
        let c = context
        var summary = ["project \(c.project.name) in \(c.project.location.directory)", "database \(c.database.database) in \(c.database.service)"]
        switch c.source {
        case .inventree(let version, _, let dbFile, let mediaFile):
            summary.append("InvenTree \(version): restore \(dbFile)" + (mediaFile.map { " and \($0)" } ?? " (database only)"))
        case .dump(let path, _):
            summary.append("restore \(path)")
        }
        summary.append("safety dump of the current database: \(c.safetyDumpPath)")
        return Plan(runID: c.runID, command: "restore", projectDirectory: c.project.location.directory, summary: summary, steps: try steps().map(\.planned))
    }
}
