import Foundation
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

/// A miniature upgrade on real files: move the data dir aside, edit compose.yml, initialise a new data
/// dir. Used to crash-test the journal: for every prefix of its journal, put the world in the state a
/// kill -9 at that point could have left, run `Rollback`, and require the original world back.
private struct MiniUpgrade {
    let dir: String
    var data: String { dir + "/data" }
    var moved: String { dir + "/data.pg15-\(PlanFixtures.runID)" }
    var failed: String { dir + "/data.failed-\(PlanFixtures.runID)" }
    var compose: String { dir + "/compose.yml" }
    static let originalCompose = Data("services:\r\n  db:\r\n    image: postgres:15 # pinned\r\n".utf8)
    static let editedCompose = Data("services:\r\n  db:\r\n    image: postgres:18 # pinned\r\n".utf8)
    static let removeNewKind: StepKind = "test.move-new-aside"

    func makeWorld() throws {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Data("old cluster".utf8).write(to: URL(fileURLWithPath: data + "/PG_VERSION"))
        try MiniUpgrade.originalCompose.write(to: URL(fileURLWithPath: compose))
    }

    // The effects of each step, applied by the steps and by the crash simulation.
    func moveAside() throws { try FileManager.default.moveItem(atPath: data, toPath: moved) }
    func editCompose() throws { try MiniUpgrade.editedCompose.write(to: URL(fileURLWithPath: compose)) }
    func initNew() throws {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        try Data("new cluster".utf8).write(to: URL(fileURLWithPath: data + "/PG_VERSION"))
    }

    func apply(_ stepID: String) throws {
        switch stepID {
        case "move-data": try moveAside()
        case "edit-compose": try editCompose()
        case "init-new": try initNew()
        default: Issue.record("unknown step \(stepID)")
        }
    }

    /// What a completed compensation did to the world.
    func unapply(_ stepID: String) throws {
        switch stepID {
        case "move-data": try FileManager.default.moveItem(atPath: moved, toPath: data)
        case "edit-compose": try MiniUpgrade.originalCompose.write(to: URL(fileURLWithPath: compose))
        case "init-new": try FileManager.default.moveItem(atPath: data, toPath: failed)
        default: Issue.record("unknown step \(stepID)")
        }
    }

    func steps() throws -> [ExecutableStep] {
        [
            ExecutableStep(
                PlannedStep(id: "move-data", title: "Move data aside", kind: "data.move-aside", mutates: true, compensation: try RenameCompensator.spec(from: data, to: moved)),
                action: RenameAction(from: data, to: moved)),
            ExecutableStep(
                PlannedStep(id: "edit-compose", title: "Edit image tag", kind: "compose.edit-image", mutates: true, compensation: try RestoreSnapshotCompensator.spec(files: [compose])),
                action: ClosureStepAction { _ in try editCompose(); return StepOutcome() }),
            ExecutableStep(
                PlannedStep(id: "init-new", title: "Initialise new cluster", kind: "data.init", mutates: true, compensation: CompensationSpec(kind: MiniUpgrade.removeNewKind, description: "move the new data dir aside", payload: ["path": .string(data), "to": .string(failed)])),
                action: ClosureStepAction { _ in try initNew(); return StepOutcome() }),
        ]
    }

    static func registry() -> CompensationRegistry {
        CompensationRegistry.standard().registering(removeNewKind, ClosureCompensator { spec, _, _ in
            let payload = try spec.payload.decode([String: String].self)
            let path = payload["path"]!, target = payload["to"]!
            // Only a directory holding the *new* cluster is moved aside; the old one must never be.
            guard let version = FileManager.default.contents(atPath: path + "/PG_VERSION"),
                  version == Data("new cluster".utf8) else { return }
            try FileManager.default.moveItem(atPath: path, toPath: target)
        })
    }

    /// True when the world is exactly as before the run (the failed new cluster may be kept aside).
    func isOriginal() -> Bool {
        FileManager.default.contents(atPath: data + "/PG_VERSION") == Data("old cluster".utf8)
            && !FileManager.default.fileExists(atPath: moved)
            && FileManager.default.contents(atPath: compose) == MiniUpgrade.originalCompose
    }
}

struct JournalTests {
    /// Runs the mini upgrade to completion and returns the journal bytes and the record boundaries.
    private func completedJournal(in dir: String) async throws -> (bytes: [UInt8], boundaries: [Int]) {
        do {
            try emptyDirectory(dir)
            let world = MiniUpgrade(dir: dir)
            try world.makeWorld()
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            try folder.snapshot(files: [world.compose])
            let executor = Executor(plan: try ExecutablePlan(runID: PlanFixtures.runID, command: "", projectDirectory: dir, steps: try world.steps()), journal: try folder.createJournal(), registry: MiniUpgrade.registry(), runFolder: folder)
            #expect(await executor.run() == .succeeded)
            let bytes = [UInt8](FileManager.default.contents(atPath: folder.journalPath)!)
            let boundaries = [0] + bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }.map { $0 + 1 }
            return (bytes, boundaries)
        }
    }

    private func emptyDirectory(_ dir: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            try FileManager.default.removeItem(atPath: dir + "/" + name)
        }
    }

    @Test func rollbackRestoresTheWorldAfterAKillAtEveryRecordBoundary() async throws {
        try await withPlanTempDirectory { dir in
            let (bytes, boundaries) = try await completedJournal(in: dir)
            #expect(boundaries.count == 9) // 8 records: run-started, 3 x intent+done, run-finished
            var cases = 0
            for boundary in boundaries {
                let prefix = Data(bytes[..<boundary])
                let state = RunState(records: try JournalReader.parse(prefix).records)
                // The step in flight may or may not have taken effect when the process died: try both.
                for inFlightHappened in state.inFlightStep == nil ? [false] : [false, true] {
                    cases += 1
                    do {
                        try emptyDirectory(dir)
                        let world = MiniUpgrade(dir: dir)
                        try world.makeWorld()
                        let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
                        try folder.snapshot(files: [world.compose])
                        try prefix.write(to: URL(fileURLWithPath: folder.journalPath))
                        for step in state.completedSteps { try world.apply(step.id) }
                        if inFlightHappened, let step = state.inFlightStep { try world.apply(step.id) }

                        let first = try await Rollback(folder: folder, registry: MiniUpgrade.registry()).run()
                        #expect(first.isComplete, "boundary \(boundary): \(first)")
                        #expect(world.isOriginal(), "boundary \(boundary), in-flight applied: \(inFlightHappened)")
                        #expect(first.compensated == state.pendingUndo.map(\.id))

                        // Idempotent: a second rollback finds nothing to do and changes nothing.
                        let second = try await Rollback(folder: folder, registry: MiniUpgrade.registry()).run()
                        #expect(second.compensated.isEmpty)
                        #expect(world.isOriginal())
                        #expect(try folder.loadState().isFullyUndone)
                    }
                }
            }
            #expect(cases == 12)
        }
    }

    @Test func rollbackFinishesAfterItselfWasKilledAtEveryRecordBoundary() async throws {
        try await withPlanTempDirectory { dir in
            // A successful run, then a rollback of it: the journal now holds the undo records too.
            let (runBytes, _) = try await completedJournal(in: dir)
            let folder = RunFolder(projectDirectory: dir, runID: PlanFixtures.runID)
            let report = try await Rollback(folder: folder, registry: MiniUpgrade.registry()).run()
            #expect(report.compensated == ["init-new", "edit-compose", "move-data"])
            let bytes = [UInt8](FileManager.default.contents(atPath: folder.journalPath)!)
            let undoBoundaries = bytes.indices.filter { $0 >= runBytes.count && bytes[$0] == UInt8(ascii: "\n") }.map { $0 + 1 }
            #expect(undoBoundaries.count == 8) // rollback-started, 3 x compensating+compensated, rollback-finished
            var cases = 0
            for boundary in undoBoundaries {
                let prefix = Data(bytes[..<boundary])
                let state = RunState(records: try JournalReader.parse(prefix).records)
                let undone = state.steps.filter { $0.undo == .done }.map(\.id)
                let inUndo = state.steps.first { $0.undo == .inProgress }?.id
                for undoHappened in inUndo == nil ? [false] : [false, true] {
                    cases += 1
                    try emptyDirectory(dir)
                    let world = MiniUpgrade(dir: dir)
                    try world.makeWorld()
                    let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
                    try folder.snapshot(files: [world.compose])
                    try prefix.write(to: URL(fileURLWithPath: folder.journalPath))
                    for step in ["move-data", "edit-compose", "init-new"] { try world.apply(step) }
                    for step in ["init-new", "edit-compose", "move-data"] where undone.contains(step) || (undoHappened && step == inUndo) {
                        try world.unapply(step)
                    }
                    let resumed = try await Rollback(folder: folder, registry: MiniUpgrade.registry()).run()
                    #expect(resumed.isComplete, "boundary \(boundary): \(resumed)")
                    #expect(!resumed.compensated.contains { undone.contains($0) }, "finished undo repeated")
                    #expect(world.isOriginal(), "boundary \(boundary), in-flight undo applied: \(undoHappened)")
                }
            }
            #expect(cases == 11)
        }
    }

    @Test func aCutInsideALineReadsAsTheStateAtTheRecordBefore() async throws {
        let (bytes, boundaries) = try await withPlanTempDirectory { try await completedJournal(in: $0) }
        for cut in 0...bytes.count {
            let contents = try JournalReader.parse(Data(bytes[..<cut]))
            let previous = boundaries.last { $0 <= cut }!
            let expectedRecords = boundaries.firstIndex(of: previous)!
            if boundaries.contains(cut) {
                #expect(contents.tornTail == nil)
                #expect(contents.records.count == expectedRecords)
            } else if boundaries.contains(cut + 1) {
                // Only the newline is missing: the record is complete and counts.
                #expect(contents.tornTail?.decoded == true)
                #expect(contents.records.count == expectedRecords + 1)
            } else {
                #expect(contents.tornTail == JournalReader.TornTail(offset: previous, decoded: false), "cut \(cut)")
                #expect(contents.records.count == expectedRecords, "cut \(cut)")
                let atBoundary = RunState(records: try JournalReader.parse(Data(bytes[..<previous])).records)
                let cutState = RunState(records: contents.records)
                #expect(cutState.steps == atBoundary.steps && cutState.finished == atBoundary.finished)
            }
        }
    }

    @Test func reconstructsInFlightStepAndUndoOrder() throws {
        let spec = { (id: String) in CompensationSpec(kind: "k", description: "undo \(id)") }
        let records = [
            JournalRecord(type: .runStarted, run: PlanFixtures.runID, command: "pg-upgrade --to 18"),
            JournalRecord(type: .intent, step: "a", kind: "k", compensation: spec("a")),
            JournalRecord(type: .done, step: "a", kind: "k", outcome: StepOutcome(summary: "a done")),
            JournalRecord(type: .intent, step: "b", kind: "k", compensation: spec("b")),
            JournalRecord(type: .done, step: "b", kind: "k", compensation: spec("b-refined"), outcome: StepOutcome()),
            JournalRecord(type: .intent, step: "c", kind: "k", compensation: spec("c")),
        ]
        let state = RunState(records: records)
        #expect(state.runID == PlanFixtures.runID)
        #expect(state.command == "pg-upgrade --to 18")
        #expect(state.wasInterrupted)
        #expect(state.inFlightStep?.id == "c")
        #expect(state.completedSteps.map(\.id) == ["a", "b"])
        #expect(state.pendingUndo.map(\.id) == ["c", "b", "a"])
        #expect(state.pendingUndo.map { $0.compensation!.description } == ["undo c", "undo b-refined", "undo a"])
        #expect(state.pendingUndo.first?.compensationState == .partial)

        // An undo interrupted mid-compensation is redone; a finished one is not.
        let more = records + [
            JournalRecord(type: .rollbackStarted),
            JournalRecord(type: .compensating, step: "c", kind: "k", compensation: spec("c"), partial: true),
            JournalRecord(type: .compensated, step: "c", kind: "k"),
            JournalRecord(type: .compensating, step: "b", kind: "k", compensation: spec("b-refined")),
        ]
        let resumed = RunState(records: more)
        #expect(resumed.pendingUndo.map(\.id) == ["b", "a"])
        #expect(resumed.steps.first { $0.id == "b" }?.undo == .inProgress)
    }

    @Test func appendingAfterATornTailStartsOnAFreshLine() async throws {
        try await withPlanTempDirectory { dir in
            let path = dir + "/journal.jsonl"
            let journal = try RunJournal.create(at: path)
            try journal.append(JournalRecord(type: .runStarted, run: PlanFixtures.runID))
            try journal.append(JournalRecord(type: .intent, step: "a", kind: "k", compensation: CompensationSpec(kind: "k", description: "undo a")))
            journal.close()
            var bytes = FileManager.default.contents(atPath: path)!
            bytes.append(contentsOf: Array("{\"v\":1,\"seq\":3,\"ty".utf8)) // kill -9 mid-write
            try bytes.write(to: URL(fileURLWithPath: path))

            let reopened = try RunJournal.openForAppend(at: path)
            let record = try reopened.append(JournalRecord(type: .rollbackStarted))
            reopened.close()
            #expect(record.seq == 3)
            let contents = try JournalReader.read(path: path)
            #expect(contents.tornTail == nil)
            #expect(contents.records.map(\.type) == [.runStarted, .intent, .rollbackStarted])
        }
    }

    @Test func aDamagedLineBeforeTheLastIsRefused() throws {
        let good = String(decoding: try PlanJSON.encoder(pretty: false).encode(JournalRecord(type: .runStarted)), as: UTF8.self)
        let text = good + "\n" + "{garbage\n" + good + "\n"
        #expect(throws: UpshiftError.self) { try JournalReader.parse(Data(text.utf8)) }
    }

    @Test func journalFileIsPrivateAndFsyncedRecordsAreNumbered() async throws {
        try await withPlanTempDirectory { dir in
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            let journal = try folder.createJournal()
            for _ in 0..<3 { try journal.append(JournalRecord(type: .runStarted)) }
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.journalPath)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(try JournalReader.read(path: folder.journalPath).records.map(\.seq) == [1, 2, 3])
            #expect(throws: (any Error).self) { _ = try folder.createJournal() }
        }
    }
}
