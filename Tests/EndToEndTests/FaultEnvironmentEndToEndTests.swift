import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The fault campaign, faults of the machine rather than of upshift: the filesystem that holds `.upshift`
/// (journal, audit log, run folder) fills up inside the window, and the docker engine restarts in the middle
/// of the restore. Each must end with the deployment exactly as before, after at most the `rollback` a user
/// would run once the machine is healthy again.
@Suite(.serialized)
struct FaultEnvironmentEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func stateDiskFullAndEngineRestart() async throws {
        try await E2EUpgrade.timed("fault campaign: .upshift disk full, engine restart mid-restore") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-env") { d in
                try await FaultCampaign.prepare(d)
                let outputs = FaultOutputs()

                // 1. `.upshift` on a small filesystem of its own (tmpfs), filled when the window's dump starts:
                //    the next journal record cannot be written. The run must stop and undo what it did; once
                //    space is freed, `rollback` has nothing left to break.
                let state = d.path + "/.upshift"
                try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
                try await FaultRefusalEndToEndTests.mount(state, bytes: 16 << 20)
                do {
                    try await FaultKillEndToEndTests.scenario(d, ".upshift filesystem full", at: "dump (window)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let watcher = FaultAuditWatcher(projectDirectory: d.path)
                        let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes", "--no-online-prepare"], workingDirectory: d.path)
                        try await watcher.waitForStepStart("dump")
                        let filled = FaultRefusalEndToEndTests.fill(state, leaving: 0)
                        let result = try await process.wait(timeout: .seconds(600))
                        outputs.add("pg-upgrade (.upshift full)", result.stdout + result.stderr)
                        print("--- pg-upgrade with .upshift full (filled \(filled) bytes)\n\(result.stderr.suffix(3000))")
                        verdict.check(!result.signaled && result.status != 0, "the run did not fail: \(result)")
                        verdict.check(result.stderr.lowercased().contains("no space left"), "the message does not say the disk is full: \(result.stderr.suffix(800))")
                        try FileManager.default.removeItem(atPath: state + "/filler")
                        let rollback = try await d.upshift(["rollback", "--yes"])
                        outputs.add("rollback after freeing .upshift", rollback.stdout + rollback.stderr)
                        verdict.check(rollback.exitCode == 0, "rollback after freeing space: \(rollback)")
                        // The undo needs no space on .upshift: it completes by itself; the journal could not say
                        // so, and the later rollback finds everything already in place.
                        let rolledBack = result.stderr.contains("rollback complete")
                        verdict.check(rolledBack, "the run did not roll back by itself: \(result.stderr.suffix(800))")
                        return "failed (exit \(result.status))\(rolledBack ? ", rolled back by itself" : ""); space freed; rollback exit \(rollback.exitCode)"
                    }
                } catch {
                    await FaultRefusalEndToEndTests.unmount(state)
                    throw error
                }
                await FaultRefusalEndToEndTests.unmount(state)

                // 2. The engine restarts (dockerd stopped and started again) while the window's restore runs.
                try await FaultKillEndToEndTests.scenario(d, "docker engine restarted", at: "restore (window, mid-restore)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    let watcher = FaultAuditWatcher(projectDirectory: d.path)
                    let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes", "--no-online-prepare", "--jobs", "1"], workingDirectory: d.path)
                    try await watcher.waitForProgress("restore", prefix: "restoring inventree")
                    let restart = try await TestEngine.restart()
                    let result = try await process.wait(timeout: .seconds(900))
                    outputs.add("pg-upgrade (engine restart)", result.stdout + result.stderr)
                    print("--- pg-upgrade whose engine restarted (\(restart))\n\(result.stderr.suffix(3000))")
                    verdict.check(!result.signaled && result.status != 0, "the run did not fail: \(result)")
                    var outcome = "engine restarted (\(restart)); run failed (exit \(result.status))"
                    if result.stderr.contains("rollback complete") {
                        outcome += ", rolled back by itself"
                    } else {
                        let rollback = try await d.upshift(["rollback", "--yes"])
                        outputs.add("rollback after the engine restart", rollback.stdout + rollback.stderr)
                        verdict.check(rollback.exitCode == 0, "rollback after the engine is back: \(rollback)")
                        outcome += "; its own undo could not reach the engine; rollback after it came back exit \(rollback.exitCode)"
                    }
                    return outcome
                }

                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }
}

/// The private test engine of `compose/testenv`, restarted the way a package upgrade or a crash restarts
/// dockerd: SIGTERM (it stops every container), then `compose/testenv/up` starts it again on the same
/// state. Only for the serialized end-to-end suite: every other test sees the engine go away.
enum TestEngine {
    /// Returns how long the engine was away.
    static func restart() async throws -> String {
        let clock = ContinuousClock()
        let start = clock.now
        let pidFile = E2EEnvironment.testenvDirectory + "/dockerd.pid"
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw E2EFailure("no dockerd pid in \(pidFile): the engine was not started by compose/testenv/up")
        }
        _ = kill(pid, SIGTERM)
        try await E2EPoll.until("dockerd (pid \(pid)) to exit", timeout: .seconds(120), interval: .milliseconds(100)) { kill(pid, 0) != 0 }
        let up = try await E2EEnvironment.runner.run(Command(
            E2EEnvironment.repositoryRoot.appendingPathComponent("compose/testenv/up").path, [],
            environment: ["UPSHIFT_TESTENV_IMAGES": "0"], timeout: .seconds(300)))
        try E2EOutput(up).checked("compose/testenv/up (engine restart)")
        try await E2EPoll.until("the engine to answer again", timeout: .seconds(120), interval: .milliseconds(200)) {
            try await E2EEnvironment.docker(["info", "--format", "{{.ServerVersion}}"]).exitCode == 0
        }
        return "away \(clock.now - start)"
    }
}
