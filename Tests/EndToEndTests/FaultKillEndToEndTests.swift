import Foundation
import Testing
import UpshiftPlans
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The fault campaign, part 1: a real `upshift pg-upgrade --to 18 --yes` on a seeded InvenTree copy, killed
/// (`kill -9`) or interrupted (SIGINT) at a moment picked by watching its audit log, then `upshift rollback`.
/// After each fault the deployment must be exactly what it was: PostgreSQL 15 at `pgdb`, the test's own
/// fingerprint and row counts equal, compose file and `.env` byte-identical, the same services running.
///
/// Several faults share one deployment (each starts from the rolled-back state of the previous one, which
/// also proves a rolled-back deployment can be upgraded again); every fault adds a row to the campaign table.
@Suite(.serialized)
struct FaultKillEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    // MARK: - Before the point of no return: stop-app, mid-dump (+ the lock), Ctrl-C mid-dump

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func killAtStopAppAndMidDumpThenCtrlC() async throws {
        try await E2EUpgrade.timed("fault campaign: kill at stop-app, kill mid-dump, SIGINT mid-dump") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-early") { d in
                try await FaultCampaign.prepare(d)
                let outputs = FaultOutputs()

                // 1. kill -9 when stop-app starts (its intent journaled); a new pg-upgrade is refused, points to
                //    rollback, and initialises nothing; then rollback.
                try await Self.scenario(d, "kill -9", at: "stop-app", outputs: outputs) { d, verdict, baseline in
                    let (runID, _) = try await Self.killRun(d, verdict, outputs: outputs) { watcher, _ in
                        try await watcher.waitForStepStart("stop-app")
                        try await Self.waitForIntent(d, step: "stop-app", timeout: .seconds(30))
                    }
                    let again = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                    outputs.add("pg-upgrade over a killed run", again.stdout + again.stderr)
                    verdict.check(again.exitCode != 0, "pg-upgrade over a killed run was not refused: \(again)")
                    verdict.check(again.stderr.contains("rollback --run \(runID)"), "the refusal does not point to `rollback --run \(runID)`: \(again.stderr.suffix(800))")
                    // The killed run's staged cluster (built before the window) stays until its rollback.
                    let entries = FaultCampaign.dataEntries(d).filter { $0 != "pgdb.staged-\(runID)" }
                    verdict.check(entries == baseline.dataEntries, "the refused run changed the data directory: \(FaultCampaign.dataEntries(d))")
                    verdict.check(FaultCampaign.pgVersionOnDisk(d) == "15", "PG_VERSION changed by the refused run")
                    verdict.check(E2EUpgrade.runIDs(d) == [runID], "the refused run left a run folder: \(E2EUpgrade.runIDs(d))")
                    return "killed (signal 9); re-run refused (exit \(again.exitCode)); rollback"
                }

                // 2. kill -9 in the middle of the dump inside the window (--no-online-prepare). Before the kill, the
                //    run is frozen (SIGSTOP) while it holds the lock: a second pg-upgrade and a rollback are
                //    refused, naming the holder's pid.
                try await Self.scenario(d, "kill -9", at: "dump (mid-dump)", outputs: outputs) { d, verdict, _ in
                    var refusals = ""
                    _ = try await Self.killRun(d, verdict, outputs: outputs, extraArguments: ["--no-online-prepare"]) { watcher, process in
                        try await watcher.waitForProgress("dump", prefix: "pg_dump → db-")
                        process.send(SIGSTOP)
                        let second = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                        let rollback = try await d.upshift(["rollback", "--yes"])
                        outputs.add("second pg-upgrade", second.stdout + second.stderr)
                        outputs.add("rollback while held", rollback.stdout + rollback.stderr)
                        for (label, result) in [("second pg-upgrade", second), ("rollback during the run", rollback)] {
                            verdict.check(result.exitCode != 0, "\(label) was not refused while the lock is held: \(result)")
                            verdict.check(result.stderr.contains("holds the project lock") && result.stderr.contains("pid \(process.pid)"),
                                          "\(label) does not name the lock holder pid \(process.pid): \(result.stderr.suffix(600))")
                        }
                        refusals = "2nd pg-upgrade exit \(second.exitCode), rollback exit \(rollback.exitCode) (holder named)"
                    }
                    return "killed mid-dump; \(refusals); rollback"
                }

                // 3. Ctrl-C (SIGINT to upshift) during the window's dump: upshift rolls back by itself and exits 130.
                try await Self.scenario(d, "SIGINT (Ctrl-C)", at: "dump (mid-dump)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    let watcher = FaultAuditWatcher(projectDirectory: d.path)
                    let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes", "--no-online-prepare"], workingDirectory: d.path)
                    try await watcher.waitForProgress("dump", prefix: "pg_dump → db-")
                    let children = process.descendants()
                    process.send(SIGINT)
                    let result = try await process.wait(timeout: .seconds(300))
                    let survivors = children.filter(FaultOrphans.isAlive)
                    verdict.check(survivors.isEmpty, "children of the interrupted run still running: \(survivors)")
                    outputs.add("pg-upgrade interrupted", result.stdout + result.stderr)
                    print("--- interrupted pg-upgrade\n\(result)")
                    verdict.check(!result.signaled && result.status == 130, "exit is not 130: \(result)")
                    verdict.check(result.stderr.contains("was interrupted"), "no interruption message: \(result.stderr.suffix(800))")
                    verdict.check(result.stderr.contains("rollback complete"), "no rollback confirmation: \(result.stderr.suffix(800))")
                    if let runID = E2EUpgrade.runIDs(d).last {
                        let state = try RunFolder(projectDirectory: d.path, runID: try #require(RunID(runID))).loadState()
                        verdict.check(!state.needsRollback, "the interrupted run still needs a rollback")
                    }
                    return "exit \(result.status), rolled back by itself"
                }

                // 4. and 5. kill -9 before the window — in the middle of the online dump, and in the middle of the
                //    restore into the staged cluster: the application was never stopped; the rollback stops the
                //    run's containers (they outlive upshift) and deletes the staged directory, and the next run
                //    is not blocked.
                // Under `scripts/test --full` only (CI time): FaultBigDataEndToEndTests kills both mid-operation
                // on 200 MB there, and CI kills staging while the standby and the replica run (below, and in
                // LogicalReplicaEndToEndTests).
                for (point, step, prefix) in E2EEnvironment.full ? [("prepare-online (mid online dump)", "prepare-online", "pg_dump → db-"), ("stage-new-cluster (mid restore into the staged cluster)", "stage-new-cluster", "restoring ")] : [] {
                    try await Self.scenario(d, "kill -9", at: point, outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let (runID, _) = try await Self.killRun(d, verdict, outputs: outputs) { watcher, _ in
                            try await watcher.waitForProgress(step, prefix: prefix)
                        }
                        let stopped = try E2EUpgrade.journal(d, runID).contains { $0["type"] as? String == "intent" && $0["step"] as? String == "stop-app" }
                        verdict.check(!stopped, "the run reached stop-app before it was killed at \(point)")
                        let rollback = try await d.upshift(["rollback", "--yes"])
                        outputs.add("rollback after a kill at \(point)", rollback.stdout + rollback.stderr)
                        verdict.check(rollback.exitCode == 0, "rollback: \(rollback)")
                        let left = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(runID)"])
                        verdict.check(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "containers of the killed run remain")
                        verdict.check(!FaultCampaign.dataEntries(d).contains { $0.contains(".staged-") }, "a staged directory remains: \(FaultCampaign.dataEntries(d))")
                        let again = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
                        verdict.check(again.exitCode == 0, "a new plan is refused after a kill before the window: \(again.stderr.suffix(600))")
                        return "killed before the window; rollback exit \(rollback.exitCode) (run's containers and staged directory removed); next run not blocked"
                    }
                }

                // 6. and 7. kill -9 while the pg_upgrade method stages: mid pg_basebackup (its container outlives
                //    upshift and would go on writing into the copy), and as the copy's upgrade starts (initdb in the
                //    upgrade container). The rollback stops both and deletes the copy and the staged directory.
                //    Under `scripts/test --full` only (CI time): the standby rows below undo the same copy and
                //    staged directory.
                for (point, step, prefix) in E2EEnvironment.full ? [("stage-copy (pg_upgrade, mid pg_basebackup)", "stage-copy", "pg_basebackup of the serving cluster"), ("stage-init-new-cluster (pg_upgrade, upgrading the copy)", "stage-init-new-cluster", "initdb ")] : [] {
                    try await Self.scenario(d, "kill -9", at: point, outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let (runID, _) = try await Self.killRun(d, verdict, outputs: outputs, extraArguments: ["--method", "pg_upgrade", "--mode", "link"]) { watcher, _ in
                            try await watcher.waitForProgress(step, prefix: prefix)
                        }
                        let exit = try await Self.rollbackRemovesStaging(d, verdict, outputs: outputs, runID: runID, point: point)
                        return "killed before the window; rollback exit \(exit) (run's containers, copy and staged directory removed)"
                    }
                }

                // 8. and 9. The standby path (the application wrote after the snapshot: a committed txid_current(),
                //    which changes no row): kill -9 while the standby follows the serving cluster before the window
                //    (its container outlives upshift and would go on replaying into the copy), and in the window
                //    during the proof that it replayed the old server's shutdown checkpoint (application and old
                //    server stopped). The rollback removes the standby and the copy and brings the old cluster back.
                for (point, step, prefix) in [("stage-standby (pg_upgrade, standby running)", "stage-init-new-cluster", "initdb "), ("promote-standby (the LSN proof)", "promote-standby", "waiting for the standby to replay")] {
                    try await Self.scenario(d, "kill -9", at: point, outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let (runID, _) = try await Self.killRun(d, verdict, outputs: outputs, extraArguments: ["--method", "pg_upgrade", "--mode", "link"]) { watcher, process in
                            try await watcher.waitForProgress("prepare-online", prefix: "checksum ")
                            _ = try await process.whileFrozen { try await E2EUpgrade.psql(d, service: FaultCampaign.dbService, "SELECT txid_current()") }
                            try await watcher.waitForProgress(step, prefix: prefix)
                        }
                        let standby = try await E2EEnvironment.docker(["ps", "-q", "--filter", "name=upshift-standby-\(runID)"])
                        verdict.check(!standby.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no standby was running when upshift was killed at \(point)")
                        let exit = try await Self.rollbackRemovesStaging(d, verdict, outputs: outputs, runID: runID, point: point)
                        return "killed with the standby running; rollback exit \(exit) (standby, copy and staged directory removed)"
                    }
                }

                let summary = try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts"))
                print(summary)
            }
        }
    }

    // MARK: - After the data move: right after move-data-aside, mid-restore, server crash mid-restore, at verify

    /// Under `scripts/test --full` only: CI has the kill after the move on the bind mount at PGDATA (LayoutsEndToEndTests)
    /// and after the restore at a fault point (FaultPointEndToEndTests).
    @Test(.enabled(if: enabled && E2EEnvironment.full, "\(E2EEnvironment.full ? E2EEnvironment.skipReason : "scripts/test --full only")"))
    func killAfterMoveMidRestoreAndAtVerify() async throws {
        try await E2EUpgrade.timed("fault campaign: kill after the move, mid-restore, server crash, at verify") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-late") { d in
                try await FaultCampaign.prepare(d)
                let outputs = FaultOutputs()

                // 4. Right after the data move (when switch-image starts): the moved-aside cluster keeps owner 999, 0700.
                try await Self.scenario(d, "kill -9", at: "switch-image (after move-data-aside)", outputs: outputs) { d, verdict, _ in
                    let (runID, _) = try await Self.killRun(d, verdict, outputs: outputs) { watcher, _ in
                        try await watcher.waitForStepStart("switch-image")
                    }
                    let aside = FaultCampaign.dataDirectory(d) + "/pgdb.pg15-\(runID)"
                    verdict.check(FaultCampaign.owner(aside) == 999, "moved-aside \(aside) owner \(FaultCampaign.owner(aside).map(String.init) ?? "missing"), not 999")
                    verdict.check(FaultCampaign.mode(aside) == 0o700, "moved-aside \(aside) mode \(FaultCampaign.octal(FaultCampaign.mode(aside))), not 0700")
                    verdict.check(FileManager.default.fileExists(atPath: aside + "/PG_VERSION"), "moved-aside cluster has no PG_VERSION")
                    // pgdb is gone now: a new run that did not refuse would initialise an empty cluster there.
                    let entries = FaultCampaign.dataEntries(d)
                    let again = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                    outputs.add("pg-upgrade over a killed run (after the move)", again.stdout + again.stderr)
                    verdict.check(again.exitCode != 0 && again.stderr.contains("rollback --run \(runID)"), "pg-upgrade after the move was not refused with a pointer to rollback: \(again)")
                    verdict.check(FaultCampaign.dataEntries(d) == entries, "the refused run changed the data directory: \(entries) -> \(FaultCampaign.dataEntries(d))")
                    return "killed after the move (aside 999/0700); re-run refused (exit \(again.exitCode)); rollback"
                }

                // 5. In the middle of the restore into PostgreSQL 18 inside the window (--no-online-prepare: a quiet
                //    database is otherwise restored before the window, into the staged cluster).
                try await Self.scenario(d, "kill -9", at: "restore (mid-restore)", outputs: outputs) { d, verdict, _ in
                    _ = try await Self.killRun(d, verdict, outputs: outputs, extraArguments: ["--no-online-prepare"]) { watcher, _ in
                        try await watcher.waitForProgress("restore", prefix: "restoring inventree")
                    }
                    return "killed mid-restore; rollback"
                }

                // 6. The new server crashes during the restore (its container killed from outside): upshift notices,
                //    rolls back by itself, exit 1.
                try await Self.scenario(d, "new server crashes", at: "restore (mid-restore)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    let watcher = FaultAuditWatcher(projectDirectory: d.path)
                    let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes", "--no-online-prepare"], workingDirectory: d.path)
                    try await watcher.waitForProgress("restore", prefix: "restoring inventree")
                    let container = try await d.containerID(FaultCampaign.dbService)
                    let killed = try await E2EEnvironment.docker(["kill", container])
                    let result = try await process.wait(timeout: .seconds(600))
                    outputs.add("pg-upgrade (server crash)", result.stdout + result.stderr)
                    print("--- pg-upgrade whose new server was killed mid-restore (docker kill: exit \(killed.exitCode))\n\(result.stderr.suffix(2500))")
                    verdict.check(!result.signaled && result.status == 1, "exit is not 1: \(result)")
                    verdict.check(result.stderr.contains("pg-upgrade failed at step restore"), "not failed at restore: \(result.stderr.suffix(800))")
                    verdict.check(result.stderr.contains("rollback complete"), "no rollback confirmation")
                    return "failed at restore, exit \(result.status), rolled back by itself"
                }

                // 6b. The staged server (restoring before the window) crashes: the run fails before the application
                //     stopped, deletes the staged cluster and exits 1; nothing of the deployment changed.
                try await Self.scenario(d, "staged server crashes", at: "stage-new-cluster (mid restore into the staged cluster)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    let watcher = FaultAuditWatcher(projectDirectory: d.path)
                    let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes"], workingDirectory: d.path)
                    let progress = try await watcher.waitForProgress("stage-new-cluster", prefix: "restoring ")
                    let killed = try await E2EEnvironment.docker(["kill", "upshift-staged-\(progress.run)"])
                    let result = try await process.wait(timeout: .seconds(600))
                    outputs.add("pg-upgrade (staged server crash)", result.stdout + result.stderr)
                    print("--- pg-upgrade whose staged server was killed (docker kill: exit \(killed.exitCode))\n\(result.stderr.suffix(2500))")
                    verdict.check(!result.signaled && result.status == 1, "exit is not 1: \(result)")
                    verdict.check(result.stderr.contains("pg-upgrade failed at step stage-new-cluster"), "not failed at stage-new-cluster: \(result.stderr.suffix(800))")
                    let stopped = try E2EUpgrade.journal(d, progress.run).contains { $0["type"] as? String == "intent" && $0["step"] as? String == "stop-app" }
                    verdict.check(!stopped, "the application was stopped although the staging failed before the window")
                    let left = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(progress.run)"])
                    verdict.check(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "containers of the run remain")
                    return "failed at prepare-online before the window, exit \(result.status); staged cluster deleted"
                }

                // 7. When verification starts (restore and analyze done, new cluster complete).
                try await Self.scenario(d, "kill -9", at: "verify", outputs: outputs) { d, verdict, _ in
                    _ = try await Self.killRun(d, verdict, outputs: outputs) { watcher, _ in
                        try await watcher.waitForStepStart("verify")
                    }
                    return "killed at verify; rollback"
                }

                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }

    // MARK: - Scenario plumbing

    /// Runs one fault scenario: baseline, `body` (the fault), `upshift rollback --yes` unless the run rolled back by
    /// itself, the full comparison with the baseline, and the table row — also when something threw.
    static func scenario(
        _ d: E2EDeployment, _ name: String, at point: String, outputs: FaultOutputs, rollbackAfter: Bool = true,
        _ body: (E2EDeployment, FaultVerdict, FaultCampaign.Baseline) async throws -> String
    ) async throws {
        let verdict = FaultVerdict(scenario: name, injectedAt: point)
        do {
            let baseline = try await FaultCampaign.Baseline.take(d)
            var outcome = try await body(d, verdict, baseline)
            if rollbackAfter {
                let rollback = try await E2EUpgrade.timed("  rollback after \(name) at \(point)") { try await d.upshift(["rollback", "--yes"]) }
                outputs.add("rollback after \(point)", rollback.stdout + rollback.stderr)
                print("--- rollback after \(name) at \(point)\n\(rollback.stderr.suffix(2500))")
                verdict.check(rollback.exitCode == 0, "rollback failed: \(rollback)")
                verdict.check(rollback.stderr.contains("complete"), "rollback did not say complete: \(rollback.stderr.suffix(600))")
                outcome += " exit \(rollback.exitCode)"
                if let runID = E2EUpgrade.runIDs(d).last, let id = RunID(runID) {
                    let state = try RunFolder(projectDirectory: d.path, runID: id).loadState()
                    verdict.check(!state.needsRollback, "run \(runID) still needs a rollback after `rollback`")
                }
            }
            verdict.outcome = outcome
            try await FaultCampaign.expectBack(d, baseline, verdict)
        } catch {
            verdict.fail("scenario aborted: \(error)")
            verdict.record()
            throw error
        }
        verdict.record()
    }

    /// Starts `pg-upgrade --to 18 --yes`, waits for `trigger`, SIGKILLs upshift (only upshift), waits for it and
    /// for the children it had started (they are not killed with it). Returns the killed run's id.
    static func killRun(
        _ d: E2EDeployment, _ verdict: FaultVerdict, outputs: FaultOutputs, extraArguments: [String] = [], changedSomething: Bool = true,
        faultPoint: String? = nil,
        trigger: (FaultAuditWatcher, FaultProcess) async throws -> Void
    ) async throws -> (String, FaultRunOutput) {
        let watcher = FaultAuditWatcher(projectDirectory: d.path)
        let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes"] + extraArguments, workingDirectory: d.path,
                                       environment: faultPoint.map { [FaultPoint.variable: $0] } ?? [:])
        do {
            try await trigger(watcher, process)
        } catch {
            process.send(SIGKILL)
            _ = try? await process.wait(timeout: .seconds(30))
            throw error
        }
        let children = process.descendants()
        process.send(SIGKILL)
        let result = try await process.wait(timeout: .seconds(30))
        verdict.check(result.signaled && result.status == SIGKILL, "upshift did not die of SIGKILL: \(result)")
        print("--- killed pg-upgrade (\(verdict.injectedAt)); \(await FaultOrphans.wait(children))\n\(result.stderr.suffix(1500))")
        outputs.add("killed pg-upgrade at \(verdict.injectedAt)", result.stdout + result.stderr)
        let runID = try #require(E2EUpgrade.runIDs(d).last, "the killed run left no run folder")
        let state = try RunFolder(projectDirectory: d.path, runID: try #require(RunID(runID))).loadState()
        verdict.check(state.needsRollback == changedSomething, "the killed run \(runID): needs rollback \(state.needsRollback), expected \(changedSomething)")
        return (runID, result)
    }

    /// `rollback` after a kill while the pg_upgrade method staged: it must succeed and leave none of the run's
    /// containers (pg_basebackup, the upgrade worker, the standby), no copy and no staged directory.
    /// - Returns: the rollback's exit code.
    static func rollbackRemovesStaging(_ d: E2EDeployment, _ verdict: FaultVerdict, outputs: FaultOutputs, runID: String, point: String) async throws -> Int32 {
        let rollback = try await d.upshift(["rollback", "--yes"])
        outputs.add("rollback after a kill at \(point)", rollback.stdout + rollback.stderr)
        verdict.check(rollback.exitCode == 0, "rollback: \(rollback)")
        let left = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(runID)"])
        verdict.check(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "containers of the killed run remain")
        verdict.check(!FaultCampaign.dataEntries(d).contains { $0.contains(".copy-") || $0.contains(".staged-") }, "the copy or staged directory remains: \(FaultCampaign.dataEntries(d))")
        return rollback.exitCode
    }

    /// Polls the newest run's journal until it holds an `intent` record for `step`.
    static func waitForIntent(_ d: E2EDeployment, step: String, timeout: Duration) async throws {
        try await E2EPoll.until("journal intent for \(step)", timeout: timeout, interval: .milliseconds(20)) {
            guard let runID = E2EUpgrade.runIDs(d).last else { return false }
            let records = (try? E2EUpgrade.journal(d, runID)) ?? []
            return records.contains { $0["type"] as? String == "intent" && $0["step"] as? String == step }
        }
    }
}
