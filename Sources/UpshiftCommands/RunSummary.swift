import Foundation
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// The last words of a run: what changed, how long the application was down, where the old data and the
/// dump are, how to roll back and prune — or what failed and what state things are in.
enum RunSummary {
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
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
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

/// A run that was interrupted and not undone leaves the deployment half-way: nothing new may start over it.
enum RunGuard {
    /// Takes the project lock, then refuses to start over a half-finished run. The lock comes first so the
    /// check cannot race with a run that starts or ends in between; a dry run takes no lock and only checks.
    /// Refusals here (a lock held, a run to undo first) change nothing: exit 64.
    static func lock(projectDirectory: String, command: String, runID: RunID, dryRun: Bool) throws -> ProjectLock? {
        do {
            if dryRun {
                try refuseUnfinishedRun(projectDirectory: projectDirectory)
                return nil
            }
            let lock = try ProjectLock.acquire(projectDirectory: projectDirectory, command: command, runID: runID)
            do {
                try refuseUnfinishedRun(projectDirectory: projectDirectory, lockHeld: true)
            } catch {
                lock.release()
                throw error
            }
            return lock
        } catch {
            throw Refusal.wrap(error)
        }
    }

    static func refuseUnfinishedRun(projectDirectory: String, lockHeld: Bool = false) throws {
        // A run that is still going looks half-finished from its journal: name its holder instead of telling
        // the user to roll back a run that is running (found by the fault campaign).
        if !lockHeld, let holder = ProjectLock.currentHolder(projectDirectory: projectDirectory) {
            throw UpshiftError(
                "another upshift run holds the project lock: \(holder)",
                hint: "wait for it to finish; the lock is released as soon as that process ends", exitCode: .usage)
        }
        guard let (folder, state) = try RunFolder.runNeedingRollback(projectDirectory: projectDirectory) else { return }
        throw UpshiftError(
            "run \(folder.runID) (\(state.command ?? "?")) did not finish and was not undone" + (state.inFlightStep.map { "; it stopped in step \($0.id)" } ?? ""),
            hint: "run `upshift -C \(ShellQuote.quote(projectDirectory)) rollback --run \(folder.runID)` first; upshift will not start over a half-finished run")
    }
}
