import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres

/// The "before" fingerprint (rows and checksum of every table) that rollback verification compares with.
struct UpdateFingerprintStep: PlanStep {
    var world: AppUpdateWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "fingerprint", title: "Fingerprint the database (rows and checksum per table)", kind: "app.fingerprint", mutates: false,
                    notes: ["libpq to 127.0.0.1:\(world.context.hostPort); a rollback must reproduce it exactly"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let fingerprint = try await Fingerprinter.captureAsync(world.context.connection())
        try FingerprintStep.save(fingerprint, to: FingerprintStep.path(world.runFolder, .before))
        let tables = fingerprint.databases.reduce(0) { $0 + $1.tables.count }
        let rows = fingerprint.databases.reduce(0) { $0 + $1.totalRows }
        return StepOutcome(summary: "\(fingerprint.databases.count) databases, \(tables) tables, \(rows) rows")
    }
}
