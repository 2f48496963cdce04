import Foundation
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// The last words of a run: what changed, how long the application was down, where the old data and the
/// dump are, how to roll back and prune — or what failed and what state things are in.
enum PgUpgradeSummary {
    static func print(outcome: RunOutcome, context: PgUpgradeContext, folder: RunFolder, reporter: RunReporter, recheck: FullRecheck.Outcome? = nil) throws {
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
            switch recheck {
            case let .identical(tables, seconds, later)?:
                let left = later.isEmpty ? "" : "; left out, written after the window by other clients: \(later.prefix(5).joined(separator: ", "))\(later.count > 5 ? " and \(later.count - 5) more" : "")"
                lines.insert("  full recheck after the window, with the application running: every table identical again (\(tables) tables, \(String(format: "%.1f", seconds)) s)\(left)", at: 3)
            case let .notRun(why)?:
                lines.insert("  full recheck after the window: not run (\(why)); the window's verification stands", at: 3)
            case .differs?, nil:
                break
            }
            lines.append("  the old data directory and the dump are kept until you remove them")
            reporter.summary(lines.joined(separator: "\n") + "\n")
            if case let .differs(differences)? = recheck {
                let directory = ShellQuote.quote(context.project.location.directory)
                throw UpshiftError(
                    context.redactor.redact("""
                    THE FULL RECHECK AFTER THE WINDOW FOUND DIFFERENCES between the old cluster and the new one as it was when the window ended:
                      \(differences.prefix(20).joined(separator: "\n  "))
                    The application has been running on PostgreSQL \(context.options.targetMajor) since then; the old cluster is kept unchanged (\(context.placement.summary)).
                    Fingerprints: \(folder.path)/fingerprint-before.json (old) and \(FullRecheck.path(folder)) (new).
                    """),
                    hint: "to go back to the old cluster: upshift -C \(directory) rollback --run \(context.runID) (what the application wrote since the window is then not in the database: export it first if you need it)",
                    exitCode: .recheckDiffers)
            }
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
