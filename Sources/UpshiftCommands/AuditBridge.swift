import Foundation
import UpshiftCore

/// Writes execution events to `<project>/.upshift/audit.jsonl`.
enum AuditBridge {
    static func sink(projectDirectory: String, runID: RunID, command: String) -> @Sendable (ExecutionEvent) -> Void {
        { _ in }
    }
}
