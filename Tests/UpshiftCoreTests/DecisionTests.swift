import Foundation
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

/// Decision steps: the executor follows the branch the outcome names, journals the decision with the rest
/// of the plan, rewrites `plan.json`, and undoes a branch's steps like any others; plans are validated on
/// every path and print every branch.
struct DecisionTests {
    static func decision(_ id: String, choose: String, log: PlanEventLog, branches: [ExecutableBranch]) -> ExecutableStep {
        let planned = PlannedStep(id: id, title: "Decide \(id)", kind: "test.decide", mutates: false)
        return ExecutableStep(decision: planned, action: ClosureStepAction { _ in
            log.add("decide:\(id)")
            return .decided(choose, because: "chose \(choose)")
        }, branches: branches)
    }

    static func branches(_ log: PlanEventLog, failIn: String? = nil) -> [ExecutableBranch] {
        [
            ExecutableBranch("fast", when: "nothing changed", steps: [PlanFixtures.fakeStep("f1", log: log, fail: failIn == "f1")]),
            ExecutableBranch("slow", when: "something changed", steps: [
                PlanFixtures.fakeStep("s1", log: log), PlanFixtures.fakeStep("s2", log: log, fail: failIn == "s2"),
            ]),
        ]
    }

    static func run(_ steps: [ExecutableStep], log: PlanEventLog, folder: String) async throws -> (RunOutcome, EventRecorder, [JournalRecord], RunFolder) {
        let runFolder = try RunFolder.create(projectDirectory: folder, runID: PlanFixtures.runID)
        let plan = try ExecutablePlan(runID: PlanFixtures.runID, command: "test", projectDirectory: folder, steps: steps)
        try runFolder.writePlan(plan.plan, redactor: Redactor())
        let journal = try runFolder.createJournal()
        let recorder = EventRecorder()
        let executor = Executor(
            plan: plan, journal: journal, registry: PlanFixtures.registry(log: log),
            runFolder: runFolder, onEvent: recorder.handler)
        let outcome = await executor.run()
        return (outcome, recorder, try JournalReader.read(path: runFolder.journalPath).records, runFolder)
    }

    @Test func theChosenBranchRunsThenTheRestAndThePlanIsRewritten() async throws {
        try await withPlanTempDirectory { folder in
            let log = PlanEventLog()
            let steps = [PlanFixtures.fakeStep("a", log: log), Self.decision("d", choose: "slow", log: log, branches: Self.branches(log)), PlanFixtures.fakeStep("z", log: log)]
            let (outcome, events, records, runFolder) = try await Self.run(steps, log: log, folder: folder)
            #expect(outcome.status == .succeeded)
            #expect(log.all == ["run:a", "decide:d", "run:s1", "run:s2", "run:z"])
            #expect(events.names.contains("decided:d=slow"))
            let decision = try #require(records.first { $0.type == .decision })
            #expect(decision.branch == "slow" && decision.plan?.map(\.id) == ["s1", "s2", "z"])
            #expect(decision.outcome?.summary == "chose slow")
            let written = try runFolder.readPlan()
            #expect(written.steps.map(\.id) == ["a", "d", "s1", "s2", "z"])
            #expect(written.steps[1].branches?.map(\.name) == ["fast", "slow"], "the decision keeps its branches for the record")
            let started = events.all.compactMap { event -> String? in
                if case .stepStarted(let step, let index, let count) = event { return "\(step.id)@\(index + 1)/\(count)" }
                return nil
            }
            #expect(started == ["a@1/3", "d@2/3", "s1@3/5", "s2@4/5", "z@5/5"])
        }
    }

    @Test func aFailureInsideABranchUndoesTheBranchAndWhatCameBefore() async throws {
        try await withPlanTempDirectory { folder in
            let log = PlanEventLog()
            let steps = [PlanFixtures.fakeStep("a", log: log), Self.decision("d", choose: "slow", log: log, branches: Self.branches(log, failIn: "s2")), PlanFixtures.fakeStep("z", log: log)]
            let (outcome, _, _, _) = try await Self.run(steps, log: log, folder: folder)
            #expect(outcome.status == .failed && outcome.failedStep == "s2" && outcome.rollback == .complete)
            #expect(log.all == ["run:a", "decide:d", "run:s1", "run:s2", "undo:s2(partial)", "undo:s1", "undo:a"])
        }
    }

    @Test func aDecisionNamingNoBranchFailsTheRunAndRollsBack() async throws {
        try await withPlanTempDirectory { folder in
            let log = PlanEventLog()
            let steps = [PlanFixtures.fakeStep("a", log: log), Self.decision("d", choose: "other", log: log, branches: Self.branches(log))]
            let (outcome, _, _, _) = try await Self.run(steps, log: log, folder: folder)
            #expect(outcome.status == .failed && outcome.failedStep == "d")
            #expect(outcome.error?.contains("chose other, not one of fast, slow") == true, "\(outcome.error ?? "")")
            #expect(log.all == ["run:a", "decide:d", "undo:a"])
        }
    }

    @Test func validationChecksEveryPath() throws {
        let log = PlanEventLog()
        // "z" after the decision collides with a step inside one branch only.
        let clash = [Self.decision("d", choose: "fast", log: log, branches: Self.branches(log)), PlanFixtures.fakeStep("s2", log: log)]
        let plan = Plan(runID: PlanFixtures.runID, command: "t", projectDirectory: "/p", steps: clash.map(\.planned))
        #expect(Plan.paths(plan.steps).map { $0.map(\.id) } == [["d", "f1", "s2"], ["d", "s1", "s2", "s2"]])
        #expect(throws: UpshiftError.self) { try plan.validate() }
        let fine = Plan(runID: PlanFixtures.runID, command: "t", projectDirectory: "/p", steps: [Self.decision("d", choose: "fast", log: log, branches: Self.branches(log)), PlanFixtures.fakeStep("z", log: log)].map(\.planned))
        try fine.validate()
    }

    @Test func dryRunShowsEveryBranchAndWhatChoosesIt() throws {
        let log = PlanEventLog()
        let steps = [PlanFixtures.fakeStep("a", log: log), Self.decision("d", choose: "fast", log: log, branches: Self.branches(log)), PlanFixtures.fakeStep("z", log: log)]
        let text = Plan(runID: PlanFixtures.runID, command: "t", projectDirectory: "/p", steps: steps.map(\.planned)).renderText()
        let expected = """
            1. Step a  [test.step, changes]
               undo: undo a
            2. Decide d  [test.decide, decision]
               2a. if nothing changed: fast
                 2a.1. Step f1  [test.step, changes]
                       undo: undo f1
               2b. if something changed: slow
                 2b.1. Step s1  [test.step, changes]
                       undo: undo s1
                 2b.2. Step s2  [test.step, changes]
                       undo: undo s2
               then, whichever branch ran:
            3. Step z  [test.step, changes]
               undo: undo z
            """
        #expect(text.hasSuffix(expected + "\n"), "\(text)")
    }
}
