import Foundation
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

struct RunFolderTests {
    private func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func createsPrivateFoldersAndRefusesAReusedRunID() async throws {
        try await withPlanTempDirectory { dir in
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            #expect(try mode(dir + "/.upshift") == 0o700)
            #expect(try mode(dir + "/.upshift/runs") == 0o700)
            #expect(try mode(folder.path) == 0o700)
            try folder.writePlan(try PlanTests.samplePlan(), redactor: Redactor())
            #expect(try mode(folder.planPath) == 0o600)
            #expect(try folder.readPlan() == PlanTests.samplePlan())
            #expect(throws: UpshiftError.self) { _ = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID) }
        }
    }

    @Test func listsRunsOldestFirstAndIgnoresOtherNames() async throws {
        try await withPlanTempDirectory { dir in
            for id in ["20261128-134501-ab12", "20250101-000000-0000", "20261128-134502-0001"] {
                _ = try RunFolder.create(projectDirectory: dir, runID: RunID(id)!)
            }
            try FileManager.default.createDirectory(atPath: RunFolder.runsDirectory(projectDirectory: dir) + "/not-a-run", withIntermediateDirectories: false)
            #expect(RunFolder.runIDs(projectDirectory: dir).map(\.rawValue) == ["20250101-000000-0000", "20261128-134501-ab12", "20261128-134502-0001"])
            #expect(RunFolder.latest(projectDirectory: dir)?.runID.rawValue == "20261128-134502-0001")
            #expect(throws: UpshiftError.self) { _ = try RunFolder.open(projectDirectory: dir, runID: RunID("20000101-000000-0000")!) }
        }
    }

    @Test func snapshotRestoresFilesByteForByteWithTheirMode() async throws {
        try await withPlanTempDirectory { dir in
            let compose = dir + "/compose.yml"
            let override = dir + "/sub/compose.yml" // same base name, different directory
            let env = dir + "/.env"
            let composeBytes = Data("\u{FEFF}services:\r\n  db:\r\n    image: postgres:15\r\n".utf8)
            let overrideBytes = Data("services: {}".utf8) // no trailing newline
            var envBytes = Data("PG_MAJOR=15\nPASSWORD='x y'\n".utf8)
            envBytes.append(contentsOf: [0xFF, 0x00, 0x0A]) // not UTF-8: copied anyway
            try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
            try composeBytes.write(to: URL(fileURLWithPath: compose))
            try overrideBytes.write(to: URL(fileURLWithPath: override))
            try envBytes.write(to: URL(fileURLWithPath: env))
            chmod(compose, 0o644)
            chmod(env, 0o640)

            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            let manifest = try folder.snapshot(files: [compose, override, env])
            #expect(manifest.entries.map(\.storedName) == ["0-compose.yml", "1-compose.yml", "2-.env"])
            #expect(manifest.entries.map(\.size) == [composeBytes.count, overrideBytes.count, envBytes.count])
            #expect(try mode(folder.snapshotDirectory + "/2-.env") == 0o600)
            #expect(try mode(folder.manifestPath) == 0o600)

            try Data("services: {broken".utf8).write(to: URL(fileURLWithPath: compose))
            try FileManager.default.removeItem(atPath: env)
            chmod(override, 0o600)
            let restored = try folder.restoreSnapshot()
            #expect(restored == [compose, override, env])
            #expect(FileManager.default.contents(atPath: compose) == composeBytes)
            #expect(FileManager.default.contents(atPath: override) == overrideBytes)
            #expect(FileManager.default.contents(atPath: env) == envBytes)
            #expect(try mode(compose) == 0o644)
            #expect(try mode(env) == 0o640)
            #expect(try mode(override) == 0o644)
            #expect(try folder.restoreSnapshot().isEmpty) // idempotent
            // No temp files left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == [".env", ".upshift", "compose.yml", "sub"])
        }
    }

    @Test func restoreRefusesADamagedSnapshotCopy() async throws {
        try await withPlanTempDirectory { dir in
            let compose = dir + "/compose.yml"
            try Data("image: postgres:15\n".utf8).write(to: URL(fileURLWithPath: compose))
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            try folder.snapshot(files: [compose])
            // sha256 of "image: postgres:15\n", as `sha256sum` prints it.
            #expect(try folder.manifest().entries[0].sha256 == "1359d9c2c03d4263b1f521ed77498b88238c34e881e1622f060e26e86a7c9238")
            try Data("image: postgres:18\n".utf8).write(to: URL(fileURLWithPath: compose))
            for damage in ["short", "image: postgres:16\n"] { // shorter, and same size but different bytes
                try Data(damage.utf8).write(to: URL(fileURLWithPath: folder.snapshotDirectory + "/0-compose.yml"))
                #expect(throws: UpshiftError.self) { try folder.restoreSnapshot() }
                #expect(FileManager.default.contents(atPath: compose) == Data("image: postgres:18\n".utf8))
            }
        }
    }

    @Test func snapshotFollowsSymlinksAndRestoresTheTarget() async throws {
        try await withPlanTempDirectory { dir in
            let real = dir + "/real.yml"
            let link = dir + "/compose.yml"
            try Data("image: postgres:15\n".utf8).write(to: URL(fileURLWithPath: real))
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.yml")
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            try folder.snapshot(files: [link])
            try Data("image: postgres:18\n".utf8).write(to: URL(fileURLWithPath: real))
            try folder.restoreSnapshot()
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.yml")
            #expect(FileManager.default.contents(atPath: real) == Data("image: postgres:15\n".utf8))
        }
    }
}

struct RunFolderUnfinishedRunTests {
    private func write(_ records: [JournalRecord], in dir: String, id: String) throws {
        let folder = try RunFolder.create(projectDirectory: dir, runID: RunID(id)!)
        let journal = try folder.createJournal()
        for record in records { try journal.append(record) }
        journal.close()
    }

    @Test func findsTheNewestRunThatLeftChangesBehind() async throws {
        try await withPlanTempDirectory { dir in
            let spec = CompensationSpec(kind: "k", description: "undo")
            let intent = JournalRecord(type: .intent, step: "a", kind: "k", compensation: spec)
            let done = JournalRecord(type: .done, step: "a", kind: "k", outcome: StepOutcome())
            #expect(try RunFolder.runNeedingRollback(projectDirectory: dir) == nil)
            // killed mid-run
            try write([JournalRecord(type: .runStarted), intent], in: dir, id: "20261101-000000-0001")
            #expect(try RunFolder.runNeedingRollback(projectDirectory: dir)?.folder.runID.rawValue == "20261101-000000-0001")
            // a newer successful run does not hide it
            try write([JournalRecord(type: .runStarted), intent, done, JournalRecord(type: .runFinished, result: .succeeded)], in: dir, id: "20261102-000000-0002")
            #expect(try RunFolder.runNeedingRollback(projectDirectory: dir)?.folder.runID.rawValue == "20261101-000000-0001")
            // a newer run whose undo was cut short is the one to show
            try write([JournalRecord(type: .runStarted), intent, done, JournalRecord(type: .runFinished, result: .succeeded),
                       JournalRecord(type: .rollbackStarted), JournalRecord(type: .compensating, step: "a", kind: "k", compensation: spec)], in: dir, id: "20261103-000000-0003")
            let found = try #require(try RunFolder.runNeedingRollback(projectDirectory: dir))
            #expect(found.folder.runID.rawValue == "20261103-000000-0003")
            #expect(found.state.steps.first?.undo == .inProgress)
            // once undone, the older killed run is next
            let journal = try found.folder.openJournal()
            try journal.append(JournalRecord(type: .compensated, step: "a", kind: "k"))
            journal.close()
            #expect(try RunFolder.runNeedingRollback(projectDirectory: dir)?.folder.runID.rawValue == "20261101-000000-0001")
        }
    }

    /// A rollback days later must not silently overwrite an edit the user made after the run (issue 16).
    @Test func restoreRefusesAFileEditedAfterTheRun() async throws {
        try await withPlanTempDirectory { dir in
            let compose = dir + "/compose.yml", env = dir + "/.env"
            let before = "services:\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: hunter2x\n"
            try before.write(toFile: compose, atomically: true, encoding: .utf8)
            try "DB_PASSWORD=hunter2x\n".write(toFile: env, atomically: true, encoding: .utf8)
            let folder = try RunFolder.create(projectDirectory: dir, runID: PlanFixtures.runID)
            _ = try folder.snapshot(files: [compose, env])
            // The run's edit, recorded as its result.
            let after = before.replacingOccurrences(of: "postgres:15", with: "postgres:18")
            try after.write(toFile: compose, atomically: true, encoding: .utf8)
            try folder.recordResult()
            // Days later the user adds a service and changes the password in .env.
            let edited = after + "  cache:\n    image: redis:7\n"
            try edited.write(toFile: compose, atomically: true, encoding: .utf8)
            try "DB_PASSWORD=changed-pw-99\n".write(toFile: env, atomically: true, encoding: .utf8)
            do {
                _ = try folder.restoreSnapshot()
                Issue.record("an edited file was overwritten")
            } catch let error as UpshiftError {
                #expect(error.exitCode == .failedRollbackIncomplete)
                #expect(error.message.contains("was changed after run") && error.message.contains("+    image: redis:7"), "\(error.message)")
                #expect(!error.message.contains("hunter2x") && !error.message.contains("changed-pw-99"))
            }
            #expect(try String(contentsOfFile: compose, encoding: .utf8) == edited, "the user's edit was lost")
            // Once the user puts back what the run left, the rollback restores both files.
            try after.write(toFile: compose, atomically: true, encoding: .utf8)
            do { _ = try folder.restoreSnapshot(); Issue.record(".env edit overwritten") } catch let error as UpshiftError {
                #expect(error.message.contains(".env") && error.message.contains("not shown") && !error.message.contains("changed-pw-99"))
            }
            try "DB_PASSWORD=hunter2x\n".write(toFile: env, atomically: true, encoding: .utf8)
            let restored = try folder.restoreSnapshot()
            #expect(restored == [compose], "\(restored)")
            #expect(try String(contentsOfFile: compose, encoding: .utf8) == before)
        }
    }
}
