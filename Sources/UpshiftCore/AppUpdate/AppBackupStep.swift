import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// The backup before the update: InvenTree's own `invoke backup` (database and media, the exact new file
/// names recorded by listing the backup directory before and after), plus upshift's `pg_dump -Fc` of the
/// database, which is what a rollback restores (InvenTree's dumps leave out `django_session` rows).
struct AppBackupStep: PlanStep {
    var world: AppUpdateWorld

    func planned() -> PlannedStep {
        var commands: [Command] = []
        if let flags = world.context.invokeBackupFlags {
            commands.append(world.tasks.invokeCommand(flags.backupArguments))
        }
        commands.append(world.dump.dumpCommand())
        var notes = ["kept after the run (0600, SHA-256 sidecar)"]
        if let reason = world.context.skipInvokeBackup { notes.append("invoke backup left out: \(reason); upshift's verified dump is the backup") }
        return PlannedStep(
            id: "backup", title: world.context.invokeBackupFlags != nil ? "Back up: invoke backup (names recorded) and pg_dump -Fc" : "Back up: pg_dump -Fc",
            kind: "app.backup", commands: PlannedStep.render(commands, redactor: world.redactor) + ["> \(world.context.dumpPath)"],
            mutates: true, compensation: nil, notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        var summary: [String] = []
        var data: [String: JSONValue] = [:]
        if let reason = world.context.skipInvokeBackup { summary.append("invoke backup left out (\(reason))") }
        if let flags = world.context.invokeBackupFlags {
            var record = try await world.tasks.backup(flags: flags, progress: context.progress)
            record.hostDirectory = InvenTreeTasks.hostPath(of: record.directory, service: world.context.project.config.services[world.context.appService])
            try record.write(to: world.backupRecordPath)
            for line in record.lines { context.progress("invoke backup wrote \(line)") }
            summary.append("invoke backup: \(record.databaseFile ?? "?")" + (record.mediaFile.map { " + \($0)" } ?? ""))
            data["inventree"] = try JSONValue(encoding: record)
        }
        let file = try await world.dump.dump(to: world.context.dumpPath, progress: context.progress)
        summary.append("pg_dump: \((file.path as NSString).lastPathComponent) (\(ByteFormat.string(file.bytes)))")
        data["dump"] = try JSONValue(encoding: file)
        return StepOutcome(summary: summary.joined(separator: "; "), data: .object(data))
    }
}
