import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the run folder needs to survive kill -9 and power loss: append with
/// fsync, atomic replace (temp file, fsync, rename, fsync directory), private directories.
package enum DurableFile {
    package struct Failure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var code: Int32
        package var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    }

    package static func fail(_ operation: String, _ path: String) -> Failure { Failure(operation: operation, path: path, code: errno) }

    /// Creates `path` and missing parents with `mode`; an existing directory is tightened to `mode`.
    package static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Failure(operation: "mkdir", path: path, code: EEXIST) }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST { throw fail("mkdir", path) }
        _ = chmod(path, mode)
    }

    package static func openForAppend(_ path: String, mode: mode_t = 0o600, exclusive: Bool = false) throws -> Int32 {
        var flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC
        if exclusive { flags |= O_EXCL }
        let fd = open(path, flags, mode)
        guard fd >= 0 else { throw fail("open", path) }
        return fd
    }

    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            offset += written
        }
    }

    package static func sync(_ fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw fail("fsync", path) }
    }

    /// Makes a new or renamed directory entry durable.
    package static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Replaces `path` with `data` atomically: a reader (or a crash) sees either the old or the new bytes.
    /// The new file gets `mode`, and the owner of the old file when the process may set it.
    package static func atomicWrite(_ data: Data, to path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)? = nil) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temp = (directory.isEmpty ? "." : directory) + "/.\(name).upshift-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw fail("create", temp) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temp) }
        }
        try writeAll(fd, [UInt8](data), path: temp)
        if let owner, owner.uid != geteuid() || owner.gid != getegid() {
            _ = fchown(fd, owner.uid, owner.gid) // best effort: only root may give a file away
        }
        guard fchmod(fd, mode) == 0 else { throw fail("chmod", temp) }
        try sync(fd, path: temp)
        guard rename(temp, path) == 0 else { throw fail("rename", path) }
        ok = true
        syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Deletes the temporaries `atomicWrite` left for `path` when it was killed before the rename
    /// (`.<name>.upshift-<pid>-<random>`, nothing else); returns their names. Called under the project lock,
    /// so no other upshift is writing them.
    @discardableResult
    package static func removeTemporaries(of path: String) -> [String] {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = ".\((path as NSString).lastPathComponent).upshift-"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        var removed: [String] = []
        for entry in entries where entry.hasPrefix(prefix) {
            let parts = entry.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { continue }
            if unlink((directory.isEmpty ? "." : directory) + "/" + entry) == 0 { removed.append(entry) }
        }
        return removed
    }

    /// Permission bits and owner of an existing file.
    package static func attributes(_ path: String) throws -> (mode: mode_t, uid: uid_t, gid: gid_t) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw fail("stat", path) }
        return (info.st_mode & 0o7777, info.st_uid, info.st_gid)
    }

    package static func closeDescriptor(_ fd: Int32) {
        _ = close(fd)
    }

    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
