import Foundation
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

struct LockTests {
    @Test func aSecondRunIsRefusedNamingTheHolderAndMayRunAfterRelease() async throws {
        try await withPlanTempDirectory { dir in
            let runID = RunID("20261128-134501-beef")!
            let lock = try ProjectLock.acquire(projectDirectory: dir, command: "pg-upgrade --to 18", runID: runID)
            #expect(ProjectLock.currentHolder(projectDirectory: dir)?.pid == getpid())
            let attributes = try FileManager.default.attributesOfItem(atPath: lock.path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            do {
                _ = try ProjectLock.acquire(projectDirectory: dir, command: "update --to 1.0.0")
                Issue.record("a second acquire succeeded")
            } catch let error as UpshiftError {
                #expect(error.message.contains("pid \(getpid())"))
                #expect(error.message.contains("`upshift pg-upgrade --to 18`"))
                #expect(error.message.contains("run \(runID)"))
            }
            lock.release()
            lock.release() // idempotent
            #expect(ProjectLock.currentHolder(projectDirectory: dir) == nil)
            let again = try ProjectLock.acquire(projectDirectory: dir, command: "rollback")
            #expect(again.holder.command == "rollback")
        }
    }

    @Test func anotherProcessHoldingTheLockBlocksUsAndItsKill9ReleasesIt() async throws {
        let flockTool = "/usr/bin/flock"
        try #require(FileManager.default.isExecutableFile(atPath: flockTool), "util-linux flock is needed for this test")
        try await withPlanTempDirectory { dir in
            // Our own lock excludes another process.
            do {
                let ours = try ProjectLock.acquire(projectDirectory: dir, command: "pg-upgrade --to 18")
                let probe = Process()
                probe.executableURL = URL(fileURLWithPath: flockTool)
                probe.arguments = ["-n", ProjectLock.path(projectDirectory: dir), "true"]
                try probe.run()
                probe.waitUntilExit()
                #expect(probe.terminationStatus == 1, "flock -n got a lock we hold")
                ours.release()
            }

            // A child process holds it (one process, written like ours); kill -9 it; the kernel releases it.
            let python = "/usr/bin/python3"
            try #require(FileManager.default.isExecutableFile(atPath: python), "python3 is needed for this test")
            let script = """
                import fcntl, os, sys, time
                fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.ftruncate(fd, 0)
                os.write(fd, b'{"pid": %d, "command": "pg-upgrade --to 16", "startedAt": "2026-11-28T13:45:01.000Z"}' % os.getpid())
                time.sleep(300)
                """
            let child = Process()
            child.executableURL = URL(fileURLWithPath: python)
            child.arguments = ["-c", script, ProjectLock.path(projectDirectory: dir)]
            try child.run()
            defer { if child.isRunning { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() } }
            let deadline = ContinuousClock.now + .seconds(20)
            while ProjectLock.currentHolder(projectDirectory: dir)?.pid != child.processIdentifier {
                try #require(ContinuousClock.now < deadline, "the child never took the lock")
                try await Task.sleep(for: .milliseconds(10))
            }
            do {
                _ = try ProjectLock.acquire(projectDirectory: dir, command: "pg-upgrade --to 18")
                Issue.record("acquired a lock another process holds")
            } catch let error as UpshiftError {
                #expect(error.message.contains("pid \(child.processIdentifier) running `upshift pg-upgrade --to 16`"))
            }

            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)
            var acquired: ProjectLock?
            while acquired == nil {
                acquired = try? ProjectLock.acquire(projectDirectory: dir, command: "rollback")
                if acquired == nil {
                    try #require(ContinuousClock.now < deadline, "lock not released after kill -9")
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            #expect(acquired?.holder.pid == getpid())
        }
    }
}
