import Foundation
import Synchronization
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

struct ExecutorTests {
    private func makeExecutor(
        dir: String, steps: [ExecutableStep], registry: CompensationRegistry, events: EventRecorder,
        options: ExecutorOptions = ExecutorOptions(), redactor: Redactor = Redactor()
    ) throws -> (Executor, RunFolder) {
        let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
        let journal = try folder.createJournal()
        let plan = try ExecutablePlan(runID: PlanFixtures.runID, command: "pg-upgrade --to 18", projectDirectory: dir, steps: steps)
        let executor = Executor(
            plan: plan, journal: journal, registry: registry,
            runFolder: folder, redactor: redactor, options: options, onEvent: events.handler)
        return (executor, folder)
    }

    @Test func successRunsEveryStepInOrderAndJournalsMutatingOnes() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let steps = [
                PlanFixtures.fakeStep("check", log: log, mutates: false),
                PlanFixtures.fakeStep("a", log: log),
                PlanFixtures.fakeStep("b", log: log),
            ]
            let (executor, folder) = try makeExecutor(dir: dir, steps: steps, registry: PlanFixtures.registry(log: log), events: events)
            let outcome = await executor.run()
            #expect(outcome == .succeeded)
            #expect(outcome.exitCode == .ok)
            #expect(log.all == ["run:check", "run:a", "run:b"])
            #expect(events.names == ["run-started", "started:check", "finished:check", "started:a", "finished:a", "started:b", "finished:b", "run-finished"])
            let records = try JournalReader.read(path: folder.journalPath).records
            #expect(records.map(\.type) == [.runStarted, .intent, .done, .intent, .done, .runFinished])
            #expect(records.map(\.seq) == Array(1...6))
            #expect(records[1].compensation?.description == "undo a")
            let state = try folder.loadState()
            #expect(state.finished == .succeeded)
            #expect(state.pendingUndo.map(\.id) == ["b", "a"])
        }
    }

    @Test func failureUndoesCompletedStepsInReverseOrderIncludingTheFailedOnePartially() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let steps = [
                PlanFixtures.fakeStep("a", log: log),
                PlanFixtures.fakeStep("read", log: log, mutates: false),
                PlanFixtures.fakeStep("b", log: log),
                PlanFixtures.fakeStep("c", log: log, fail: true),
                PlanFixtures.fakeStep("never", log: log),
            ]
            let (executor, folder) = try makeExecutor(dir: dir, steps: steps, registry: PlanFixtures.registry(log: log), events: events)
            let outcome = await executor.run()
            #expect(log.all == ["run:a", "run:read", "run:b", "run:c", "undo:c(partial)", "undo:b", "undo:a"])
            #expect(outcome.status == .failed)
            #expect(outcome.rollback == .complete)
            #expect(outcome.failedStep == "c")
            #expect(outcome.error == "step c broke")
            #expect(outcome.report.compensated == ["c", "b", "a"])
            #expect(outcome.exitCode == .failedRolledBack)
            #expect(events.names.suffix(10) == [
                "failed:c", "rollback-started", "compensating:c(partial)", "compensated:c", "compensating:b", "compensated:b",
                "compensating:a", "compensated:a", "rollback-finished", "run-finished",
            ])
            let state = try folder.loadState()
            #expect(state.isFullyUndone)
            #expect(state.finished?.rollback == .complete)
        }
    }

    @Test func failedCompensationStopsTheUndoAndReportsWhatRemains() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let steps = ["a", "b", "c"].map { PlanFixtures.fakeStep($0, log: log) } + [PlanFixtures.fakeStep("d", log: log, fail: true)]
            let registry = PlanFixtures.registry(log: log, failing: ["b"])
            let (executor, folder) = try makeExecutor(dir: dir, steps: steps, registry: registry, events: events)
            let outcome = await executor.run()
            #expect(log.all.suffix(3) == ["undo:d(partial)", "undo:c", "undo:b"])
            #expect(outcome.rollback == .incomplete)
            #expect(outcome.exitCode == .failedRollbackIncomplete)
            #expect(outcome.report.compensated == ["d", "c"])
            #expect(outcome.report.failure == CompensationFailure(step: "b", description: "undo b", error: "cannot undo b"))
            #expect(outcome.report.remaining == ["b", "a"])
            // A later rollback (fixed compensator) finishes exactly what is left.
            let log2 = PlanEventLog()
            let report = try await Rollback(folder: folder, registry: PlanFixtures.registry(log: log2)).run()
            #expect(log2.all == ["undo:b", "undo:a"])
            #expect(report.isComplete)
        }
    }

    @Test func noRollbackLeavesStateAndRollbackCommandUndoesItLater() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let steps = [PlanFixtures.fakeStep("a", log: log), PlanFixtures.fakeStep("b", log: log, fail: true)]
            let (executor, folder) = try makeExecutor(
                dir: dir, steps: steps, registry: PlanFixtures.registry(log: log), events: events,
                options: ExecutorOptions(rollbackOnFailure: false))
            let outcome = await executor.run()
            #expect(log.all == ["run:a", "run:b"])
            #expect(outcome.rollback == .skipped)
            #expect(outcome.report.remaining == ["b", "a"])
            #expect(outcome.exitCode == .failedRollbackIncomplete)
            let report = try await Rollback(folder: folder, registry: PlanFixtures.registry(log: log)).run()
            #expect(report.compensated == ["b", "a"])
            #expect(log.all.suffix(2) == ["undo:b(partial)", "undo:a"])
        }
    }

    @Test func interruptFlagStopsAtTheNextStepBoundaryAndRollsBackWith130() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let flag = Mutex(false)
            let interrupting = ExecutableStep(
                PlannedStep(id: "b", title: "B", kind: "test.step", mutates: true, compensation: CompensationSpec(kind: PlanFixtures.fakeKind, description: "undo b", payload: ["id": "b"])),
                action: ClosureStepAction { _ in
                    log.add("run:b")
                    flag.withLock { $0 = true } // SIGINT arrives while b runs; b still completes
                    return StepOutcome()
                })
            let steps = [PlanFixtures.fakeStep("a", log: log), interrupting, PlanFixtures.fakeStep("c", log: log)]
            let (executor, _) = try makeExecutor(
                dir: dir, steps: steps, registry: PlanFixtures.registry(log: log), events: events,
                options: ExecutorOptions(isInterrupted: { flag.withLock { $0 } }))
            let outcome = await executor.run()
            #expect(log.all == ["run:a", "run:b", "undo:b", "undo:a"])
            #expect(outcome.status == .interrupted)
            #expect(outcome.rollback == .complete)
            #expect(outcome.exitCode == .interrupted)
            #expect(events.names.contains("interrupted:c"))
        }
    }

    @Test func taskCancellationDuringAStepRollsBackAndTheUndoIsNotCancelled() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let started = Mutex(false)
            let waiting = ExecutableStep(
                PlannedStep(id: "wait", title: "Wait", kind: "test.step", mutates: true, compensation: CompensationSpec(kind: PlanFixtures.fakeKind, description: "undo wait", payload: ["id": "wait"])),
                action: ClosureStepAction { _ in
                    started.withLock { $0 = true }
                    try await Task.sleep(for: .seconds(60))
                    return StepOutcome()
                })
            let registry = CompensationRegistry().registering(PlanFixtures.fakeKind, ClosureCompensator { spec, _, _ in
                // Would throw if the undo inherited the cancellation.
                try Task.checkCancellation()
                log.add("undo:\(spec.payload.decode(as: [String: String].self)?["id"] ?? "?")")
            })
            let (executor, _) = try makeExecutor(dir: dir, steps: [PlanFixtures.fakeStep("a", log: log), waiting], registry: registry, events: events)
            let task = Task { await executor.run() }
            let deadline = ContinuousClock.now + .seconds(10)
            while !started.withLock({ $0 }) && ContinuousClock.now < deadline { await Task.yield() }
            task.cancel()
            let outcome = await task.value
            #expect(outcome.status == .interrupted)
            #expect(outcome.rollback == .complete)
            #expect(outcome.exitCode == .interrupted)
            #expect(log.all == ["run:a", "undo:wait", "undo:a"])
        }
    }

    @Test func pointOfNoReturnKeepsEarlierStepsOnLaterFailure() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let steps = [
                PlanFixtures.fakeStep("a", log: log),
                PlanFixtures.fakeStep("migrate", log: log, pointOfNoReturn: true),
                PlanFixtures.fakeStep("b", log: log),
                PlanFixtures.fakeStep("c", log: log, fail: true),
            ]
            let (executor, folder) = try makeExecutor(dir: dir, steps: steps, registry: PlanFixtures.registry(log: log), events: events)
            let outcome = await executor.run()
            #expect(log.all.suffix(2) == ["undo:c(partial)", "undo:b"])
            #expect(outcome.rollback == .complete)
            let state = try folder.loadState()
            #expect(state.pointOfNoReturn == "migrate")
            #expect(state.steps.filter(\.final).map(\.id) == ["a", "migrate"])
            #expect(state.pendingUndo.isEmpty)
        }
    }

    @Test func secretsAreMaskedInEventsAndTheJournal() async throws {
        try await withPlanTempDirectory { dir in
            let log = PlanEventLog()
            let events = EventRecorder()
            let secret = "hunter2-Secret"
            let leaking = ExecutableStep(
                PlannedStep(id: "x", title: "X", kind: "test.step", mutates: true, compensation: CompensationSpec(kind: PlanFixtures.fakeKind, description: "undo x", payload: ["id": "x"])),
                action: ClosureStepAction { context in
                    context.progress("connecting with \(secret)")
                    throw TestFailure("password authentication failed for \(secret)")
                })
            let (executor, folder) = try makeExecutor(
                dir: dir, steps: [leaking], registry: PlanFixtures.registry(log: log), events: events, redactor: Redactor(secrets: [secret]))
            let outcome = await executor.run()
            #expect(outcome.error == "password authentication failed for ******")
            let journal = try String(contentsOfFile: folder.journalPath, encoding: .utf8)
            #expect(!journal.contains(secret))
            #expect(journal.contains("******"))
            #expect(!"\(events.all)".contains(secret))
        }
    }
}
