import Foundation
import UpshiftCore
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

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
