import Foundation
import Synchronization
import UpshiftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One run at a time per project: an exclusive, non-blocking `flock` on `<project>/.upshift/lock`.
///
/// `flock` belongs to the open file, so the kernel drops it when the holder exits in any way, kill -9
/// included: there is no stale lock to clean up. The file's contents (pid, command, start time) are only
/// there to name the holder when a second run is refused.
public final class ProjectLock: Sendable {
    /// Who holds the lock, as written into the lock file.
    public struct Holder: Sendable, Hashable, Codable, CustomStringConvertible {
        public var pid: Int32
        public var command: String
        public var startedAt: String
        public var runID: RunID?

        public var description: String {
            var text = "pid \(pid) running `upshift \(command)` since \(startedAt)"
            if let runID { text += " (run \(runID))" }
            return text
        }
    }

    public let path: String
    public let holder: Holder
    private let descriptor: Mutex<Int32>

    private init(path: String, holder: Holder, fd: Int32) {
        self.path = path
        self.holder = holder
        self.descriptor = Mutex(fd)
    }

    deinit { release() }

    public static func path(projectDirectory: String) -> String {
        RunFolder.stateDirectory(projectDirectory: projectDirectory) + "/lock"
    }

    /// Takes the lock or refuses at once.
    ///
    /// - Parameter command: the subcommand line shown to a refused second run; must not hold secrets.
    /// - Throws: `UpshiftError` naming the holder when another process has the lock.
    public static func acquire(projectDirectory: String, command: String, runID: RunID? = nil, now: Date = Date()) throws -> ProjectLock {
        let path = path(projectDirectory: projectDirectory)
        do {
            try DurableFile.makeDirectory(RunFolder.stateDirectory(projectDirectory: projectDirectory))
        } catch {
            throw UpshiftError("cannot create \(RunFolder.stateDirectory(projectDirectory: projectDirectory)): \(error)")
        }
        // No O_TRUNC: the file may belong to the current holder and name it.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UpshiftError("cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            guard code == EWOULDBLOCK else {
                throw UpshiftError("cannot lock \(path): \(String(cString: strerror(code)))")
            }
            let who = readHolder(path: path).map { "another upshift run holds the project lock: \($0)" }
                ?? "another upshift run holds the project lock \(path)"
            throw UpshiftError(who, hint: "wait for it to finish; the lock is released as soon as that process ends", exitCode: .failedRolledBack)
        }
        let holder = Holder(pid: getpid(), command: command, startedAt: JournalRecord.timestamp(now), runID: runID)
        do {
            var data = try PlanJSON.encoder(pretty: false).encode(holder)
            data.append(UInt8(ascii: "\n"))
            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else { throw DurableFile.fail("truncate", path) }
            try DurableFile.writeAll(fd, [UInt8](data), path: path)
            _ = fsync(fd)
        } catch {
            close(fd)
            throw UpshiftError("cannot write the lock file \(path): \(error)")
        }
        return ProjectLock(path: path, holder: holder, fd: fd)
    }

    /// The current holder, or nil when nobody holds the lock (used by `status`).
    public static func currentHolder(projectDirectory: String) -> Holder? {
        let path = path(projectDirectory: projectDirectory)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return nil
        }
        return readHolder(path: path) ?? Holder(pid: 0, command: "(unknown)", startedAt: "", runID: nil)
    }

    private static func readHolder(path: String) -> Holder? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        return try? PlanJSON.decoder().decode(Holder.self, from: data)
    }

    /// Gives the lock up (also done on deinit and, by the kernel, on any process exit). Idempotent.
    public func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            _ = ftruncate(fd, 0)
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }
}
