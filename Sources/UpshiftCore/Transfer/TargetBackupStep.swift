import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

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
