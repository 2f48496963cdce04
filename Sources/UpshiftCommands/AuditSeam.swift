import UpshiftCore

/// SEAM: where `status` reads the last runs from the audit log (`<project>/.upshift/audit.jsonl`).
/// Returns `nil` ("unknown") until the Audit layer lands in `Sources/UpshiftCore/Audit`.
enum AuditSeam {
    @Sendable static func lastRuns(projectDirectory: String) -> [ProjectStatus.RunSummary]? { nil }
}
