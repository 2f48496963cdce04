import Foundation
import UpshiftCore
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// The last words of an import or a transfer: what was verified and how to undo it, or what failed and
/// what state the target is in.
enum RecordsRunSummary {
    static func print(outcome: RunOutcome, what: String, runID: RunID, directory: String, dumpPath: String, redactor: Redactor, reporter: RunReporter, success: () -> String) throws {
        let dir = ShellQuote.quote(directory)
        switch outcome.status {
        case .succeeded:
            let lines = ["", success(), "  upshift dump of the target before the run: \(dumpPath) (+ .sha256)", "  roll back: upshift -C \(dir) rollback --run \(runID)"]
            reporter.summary(lines.joined(separator: "\n") + "\n")
        case .failed, .interrupted:
            var message = "\(what) \(outcome.status == .interrupted ? "was interrupted" : "failed") at step \(outcome.failedStep ?? "?"): \(outcome.error ?? "unknown error")"
            switch outcome.rollback {
            case .complete, .notNeeded:
                message += "\nrollback complete: the target's database was restored from \(dumpPath) and its services are back (run \(runID))"
            case .skipped:
                message += "\n--no-rollback: everything was left as it is; undo with: upshift -C \(dir) rollback --run \(runID)"
            case .incomplete:
                message += "\nROLLBACK INCOMPLETE: \(outcome.report.failure.map { "\($0.step): \($0.error)" } ?? "")"
                message += "\n  still to undo: \(outcome.report.remaining.joined(separator: ", "))"
                message += "\n  retry with: upshift -C \(dir) rollback --run \(runID)"
            }
            throw UpshiftError(redactor.redact(message), exitCode: outcome.exitCode)
        }
    }
}
