import Foundation
import Testing
import UpshiftPlans
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The fault campaign at fault points (`UPSHIFT_FAULT_POINTS`): upshift stops itself exactly there and is
/// killed while stopped, so the crash provably falls between two of its own actions — inside a step (its
/// intent journaled, nothing done; done, not yet journaled) and inside a rollback (between two compensations),
/// followed by a second rollback. On one seeded InvenTree copy; every row compares with the baseline from
/// outside (libpq fingerprint, psql counts and row hashes, the files' bytes, the running services).
@Suite(.serialized)
struct FaultPointEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func killInsideStepsAndDuringRollback() async throws {
        try await E2EUpgrade.timed("fault campaign: kills at fault points, kills during rollback") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-points") { d in
                try await FaultCampaign.prepare(d)
                let outputs = FaultOutputs()

                // after:restore under `scripts/test --full` only (CI time): after:move-data-aside is the same
                // unjournaled case with the data already moved.
                for (point, meaning) in [
                    ("before:move-data-aside", "intent journaled, nothing moved"),
                    ("after:move-data-aside", "moved aside, not yet journaled"),
                ] + (E2EEnvironment.full ? [("after:restore", "restored into 18, not yet journaled")] : []) + [
                    ("before:start-stack", "verified, the stack not started"),
                ] {
                    try await FaultKillEndToEndTests.scenario(d, "kill -9", at: "\(point) (\(meaning))", outputs: outputs) { d, verdict, _ in
                        _ = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--no-online-prepare"], faultPoint: point) { _, process in
                            try await process.waitForFaultPoint(point, timeout: .seconds(600))
                        }
                        return "killed stopped at \(point);"
                    }
                }

                // The upgrade killed before start-stack, its rollback killed between two compensations, then a
                // second rollback finishes the job.
                for point in ["undo-after:switch-image", "undo-before:isolate-db"] {
                    try await FaultKillEndToEndTests.scenario(d, "kill -9 during rollback, rollback again", at: "rollback \(point)", outputs: outputs) { d, verdict, _ in
                        let (runID, _) = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--no-online-prepare"], faultPoint: "before:start-stack") { _, process in
                            try await process.waitForFaultPoint("before:start-stack", timeout: .seconds(600))
                        }
                        let rollback = try FaultProcess(["rollback", "--yes"], workingDirectory: d.path, environment: [FaultPoint.variable: point])
                        try await rollback.waitForFaultPoint(point, timeout: .seconds(300))
                        let children = rollback.descendants()
                        rollback.send(SIGKILL)
                        let killed = try await rollback.wait(timeout: .seconds(60))
                        _ = await FaultOrphans.wait(children)
                        outputs.add("rollback killed at \(point)", killed.stdout + killed.stderr)
                        verdict.check(killed.signaled && killed.status == SIGKILL, "the rollback did not die of SIGKILL: \(killed)")
                        let state = try RunFolder(projectDirectory: d.path, runID: try #require(RunID(runID))).loadState()
                        verdict.check(state.needsRollback, "after the killed rollback, run \(runID) claims nothing is left to undo")
                        let status = try await d.upshift(["status"])
                        outputs.add("status after a killed rollback", status.stdout + status.stderr)
                        verdict.check(status.stdout.contains(runID), "status does not name the run that still needs a rollback: \(status.stdout.suffix(800))")
                        return "upgrade killed at before:start-stack; rollback killed at \(point); second rollback"
                    }
                }

                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }
}
