import Foundation
import UpshiftPlans

extension AuditTrail {
    /// The last `limit` runs of a project for `upshift status`, newest first; nil when the log cannot be read.
    public static func lastRuns(projectDirectory: String, limit: Int = 5) -> [ProjectStatus.PastRun]? {
        guard let trail = try? read(projectDirectory: projectDirectory) else { return nil }
        return trail.runs.suffix(limit).reversed().map {
            ProjectStatus.PastRun(runID: $0.run, command: $0.command ?? "?", startedAt: $0.start, outcome: $0.outcome)
        }
    }
}
