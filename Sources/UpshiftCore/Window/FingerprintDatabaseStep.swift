import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Fingerprints every database at a connection (row count and content checksum per table, through libpq)
/// and keeps it in the run folder: the "before" a rollback must reproduce exactly. Shared by pg-upgrade
/// (the old cluster, before the data moves) and update (before the migration).
struct FingerprintDatabaseStep: PlanStep {
    var id: String
    var title: String
    var kind: StepKind
    /// How upshift reaches the server, for the plan reader.
    var reach: String
    /// The server, found when the step runs (a container address is only known then).
    var connection: @Sendable () async throws -> ConnectionParameters
    var savePath: String

    func planned() -> PlannedStep {
        PlannedStep(id: id, title: title, kind: kind, mutates: false, notes: [reach])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let fingerprint = try await Fingerprinter.captureAsync(try await connection()) { db, table, position, count in
            context.report("checksum \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items))
        }
        try FingerprintFile.save(fingerprint, to: savePath)
        return StepOutcome(summary: FingerprintFile.describe(fingerprint))
    }
}
