import Foundation
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

/// The standard compensators decide from what exists on disk, not from what the journal says happened.
struct ExecutorCompensatorTests {
    private func undoRename(_ dir: String, state: CompensationState) async throws {
        let spec = try RenameCompensator.spec(from: dir + "/A", to: dir + "/B")
        try await RenameCompensator().compensate(spec, state: state, context: CompensationContext(runID: PlanFixtures.runID))
    }

    private func touch(_ path: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

    @Test func renameInFlightIsUndoneOnlyWhenItHappened() async throws {
        try await withPlanTempDirectory { dir in
            // The rename happened: B only -> renamed back.
            try touch(dir + "/B", "data")
            try await undoRename(dir, state: .partial)
            #expect(FileManager.default.contents(atPath: dir + "/A") == Data("data".utf8))
            #expect(!FileManager.default.fileExists(atPath: dir + "/B"))
            // It did not happen (or is already undone): A only -> nothing, twice.
            try await undoRename(dir, state: .partial)
            try await undoRename(dir, state: .completed(StepOutcome()))
            #expect(FileManager.default.contents(atPath: dir + "/A") == Data("data".utf8))
        }
    }

    @Test func renameRefusesWhenBothOrNeitherExist() async throws {
        try await withPlanTempDirectory { dir in
            await #expect(throws: UpshiftError.self) { try await undoRename(dir, state: .partial) }
            try touch(dir + "/A", "old")
            try touch(dir + "/B", "new")
            await #expect(throws: UpshiftError.self) { try await undoRename(dir, state: .completed(StepOutcome())) }
            #expect(FileManager.default.contents(atPath: dir + "/A") == Data("old".utf8))
            #expect(FileManager.default.contents(atPath: dir + "/B") == Data("new".utf8))
        }
    }

    @Test func renameActionRefusesAnExistingTarget() async throws {
        try await withPlanTempDirectory { dir in
            try touch(dir + "/A", "old")
            try touch(dir + "/B", "taken")
            await #expect(throws: UpshiftError.self) { _ = try await RenameAction(from: dir + "/A", to: dir + "/B").run(StepContext(runID: PlanFixtures.runID)) }
            #expect(FileManager.default.contents(atPath: dir + "/B") == Data("taken".utf8))
        }
    }

    @Test func restoreSnapshotCompensatorRestoresOnlyTheNamedFiles() async throws {
        try await withPlanTempDirectory { dir in
            try touch(dir + "/compose.yml", "image: postgres:15\n")
            try touch(dir + "/.env", "PG_MAJOR=15\n")
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            try folder.snapshot(files: [dir + "/compose.yml", dir + "/.env"])
            try touch(dir + "/compose.yml", "image: postgres:18\n")
            try touch(dir + "/.env", "PG_MAJOR=18\n")
            // What a kill -9 in the middle of an atomic write leaves, and look-alikes that are not ours.
            try touch(dir + "/..env.upshift-4242-123456", "PG_MAJOR=1")
            try touch(dir + "/..env.upshift-notes", "keep")
            try touch(dir + "/.compose.yml.upshift-1-2", "other file, not restored here")
            let spec = try RestoreSnapshotCompensator.spec(files: [dir + "/.env"])
            #expect(spec.description == "restore .env from the run snapshot")
            let context = CompensationContext(runID: PlanFixtures.runID, runFolder: folder)
            try await RestoreSnapshotCompensator().compensate(spec, state: .partial, context: context)
            #expect(FileManager.default.contents(atPath: dir + "/.env") == Data("PG_MAJOR=15\n".utf8))
            #expect(FileManager.default.contents(atPath: dir + "/compose.yml") == Data("image: postgres:18\n".utf8))
            #expect(!FileManager.default.fileExists(atPath: dir + "/..env.upshift-4242-123456"))
            #expect(FileManager.default.fileExists(atPath: dir + "/..env.upshift-notes"))
            #expect(FileManager.default.fileExists(atPath: dir + "/.compose.yml.upshift-1-2"))
            await #expect(throws: UpshiftError.self) {
                try await RestoreSnapshotCompensator().compensate(spec, state: .partial, context: CompensationContext(runID: PlanFixtures.runID))
            }
        }
    }

    @Test func unknownKindsAreRefusedByName() {
        #expect(CompensationRegistry.standard().kinds.map(\.rawValue) == ["compose.restore-files", "file.rename"])
        do {
            _ = try CompensationRegistry.standard().resolve("data.move-aside")
            Issue.record("resolved an unregistered kind")
        } catch let error as UpshiftError {
            #expect(error.message.contains("\"data.move-aside\""))
            #expect(error.exitCode == .failedRollbackIncomplete)
        } catch { Issue.record("\(error)") }
    }
}
