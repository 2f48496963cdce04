import Foundation
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// The last words of a run: what changed, how long the application was down, where the old data and the
/// dump are, how to roll back and prune — or what failed and what state things are in.
enum PgUpgradeSummary {
    static func print(outcome: RunOutcome, context: PgUpgradeContext, folder: RunFolder, reporter: RunReporter) throws {
        let dump = context.backupDirectory + "/" + context.dumpBaseName
        switch outcome.status {
        case .succeeded:
            let invoke = context.options.method == .invoke
            var lines = [
                "",
                "PostgreSQL \(context.oldMajor) -> \(context.options.targetMajor) done for \(context.project.name) (run \(context.runID)).",
                invoke ? "  verification: every table's row count and checksum identical (django_session excepted: InvenTree's backups leave sessions out)"
                    : "  verification: every table's row count and checksum identical",
                "  application downtime: \(reporter.downtimeText)",
                "  old data: \(context.placement.summary)",
                invoke ? "  backup: the `invoke backup` files recorded in \(folder.path)" : "  dump: \(dump)",
                "  roll back: upshift -C \(ShellQuote.quote(context.project.location.directory)) rollback --run \(context.runID)",
            ]
            lines.append("  the old data directory and the dump are kept until you remove them")
            reporter.summary(lines.joined(separator: "\n") + "\n")
        case .failed, .interrupted:
            var message = "pg-upgrade \(outcome.status == .interrupted ? "was interrupted" : "failed") at step \(outcome.failedStep ?? "?"): \(outcome.error ?? "unknown error")"
            switch outcome.rollback {
            case .complete, .notNeeded:
                message += "\nrollback complete: the old cluster, the original compose files and the services are back (run \(context.runID))"
            case .skipped:
                message += "\n--no-rollback: everything was left as it is; undo with: upshift -C \(ShellQuote.quote(context.project.location.directory)) rollback --run \(context.runID)"
            case .incomplete:
                message += "\nROLLBACK INCOMPLETE: \(outcome.report.failure.map { "\($0.step): \($0.error)" } ?? "")"
                message += "\n  still to undo: \(outcome.report.remaining.joined(separator: ", "))"
                message += "\n  the journal is \(folder.journalPath); retry with: upshift -C \(ShellQuote.quote(context.project.location.directory)) rollback --run \(context.runID)"
            }
            throw UpshiftError(context.redactor.redact(message), exitCode: outcome.exitCode)
        }
    }
}
