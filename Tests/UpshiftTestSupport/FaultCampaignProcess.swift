import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A running `upshift` child the fault campaign can signal at a moment it chooses (kill -9, SIGINT, SIGSTOP).
///
/// Why not `E2EUpshift.run`: that waits for the exit, so a test cannot hit the process while it is inside a
/// step. Output goes to files (not pipes), so a stopped or killed parent never blocks on a full pipe and the
/// test can read what was printed up to the signal. argv only, never a shell; secrets never in argv.
public final class FaultProcess: @unchecked Sendable {
    public let arguments: [String]
    public let pid: Int32
    private let process: Process
    private let stdoutPath: String
    private let stderrPath: String
    private let lock = NSLock()

    /// Starts `upshift ARGS` in `workingDirectory` with stdin from /dev/null.
    public init(_ arguments: [String], workingDirectory: String, environment: [String: String] = [:]) throws {
        guard let binary = E2EEnvironment.upshiftBinary else {
            throw E2EFailure("the upshift binary was not found: build it (swift build) or set UPSHIFT_BIN")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(E2EEnvironment.uniqueName("upshift-fault-out"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        stdoutPath = scratch.appendingPathComponent("stdout").path
        stderrPath = scratch.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        self.arguments = arguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.environment = ProcessInfo.processInfo.environment
            .merging(E2EEnvironment.childEnvironment) { $1 }.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        let out = FileHandle(forWritingAtPath: stdoutPath)
        let err = FileHandle(forWritingAtPath: stderrPath)
        // The child has its own copies once started; ours would stay open for the rest of the suite.
        defer {
            try? out?.close()
            try? err?.close()
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        self.process = process
        pid = process.processIdentifier
    }

    public var isRunning: Bool { lock.withLock { process.isRunning } }

    /// Sends `signal` to upshift only (not its children: a `kill -9 PID` as a user or the OOM killer does it).
    public func send(_ signal: Int32) {
        _ = kill(pid, signal)
    }

    /// Every live descendant of upshift (children, grandchildren), from /proc; empty when upshift is gone.
    public func descendants() -> [Int32] {
        var found: [Int32] = []
        var queue = [pid]
        while let next = queue.popLast() {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(next)/task")) ?? []
            for task in tasks {
                let text = (try? String(contentsOfFile: "/proc/\(next)/task/\(task)/children", encoding: .utf8)) ?? ""
                for child in text.split(separator: " ").compactMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) where !found.contains(child) {
                    found.append(child)
                    queue.append(child)
                }
            }
        }
        return found
    }

    /// Waits for the exit (polling, no blocking thread) and returns the captured output.
    public func wait(timeout: Duration = .seconds(600)) async throws -> FaultRunOutput {
        try await E2EPoll.until("upshift \(arguments.joined(separator: " ")) (pid \(pid)) to exit", timeout: timeout, interval: .milliseconds(100)) {
            !isRunning
        }
        let (reason, status) = lock.withLock { (process.terminationReason, process.terminationStatus) }
        return FaultRunOutput(
            signaled: reason == .uncaughtSignal, status: status,
            stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }

    /// Waits until upshift stopped itself at fault point `name` (armed through `UPSHIFT_FAULT_POINTS`): it
    /// printed the point and the kernel shows it stopped. Fails at once when it exited before.
    public func waitForFaultPoint(_ name: String, timeout: Duration = .seconds(300)) async throws {
        try await E2EPoll.until("upshift (pid \(pid)) stopped at fault point \(name)", timeout: timeout, interval: .milliseconds(20)) {
            guard self.isRunning else { throw E2EFailure("upshift exited before fault point \(name):\n\(self.stderrSoFar.suffix(2000))") }
            return self.stderrSoFar.contains("fault point \(name):") && self.isStopped
        }
    }

    /// Whether the kernel shows the process stopped (state `T`).
    public var isStopped: Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
    }

    /// What upshift printed so far (stderr), e.g. to show where a killed run was.
    public var stderrSoFar: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

/// How a signalled upshift ended and what it printed.
public struct FaultRunOutput: Sendable, CustomStringConvertible {
    /// True when it died of a signal (kill -9); `status` is then the signal number.
    public var signaled: Bool
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// The shell's view: 128+signal for a signal death, else the exit code.
    public var exitCode: Int32 { signaled ? 128 + status : status }

    public var description: String {
        "\(signaled ? "signal \(status)" : "exit \(status)")\n--- stdout (tail)\n\(stdout.suffix(2500))\n--- stderr (tail)\n\(stderr.suffix(3500))"
    }
}

/// Waiting for leftovers of a killed upshift: its children (docker compose, docker exec) are not killed with
/// it and may still be stopping or starting containers. A user who sees the crash runs `rollback` after the
/// commands it had started have ended; the test does the same, and ends them itself after a deadline.
public enum FaultOrphans {
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie (reaped by init soon) counts as gone.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        if let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
            return state != "Z"
        }
        return true
    }

    /// Returns how long the orphans took to end; SIGKILLs those still alive after `timeout` and says so.
    public static func wait(_ pids: [Int32], timeout: Duration = .seconds(90)) async -> String {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if pids.allSatisfy({ !isAlive($0) }) {
                return pids.isEmpty ? "no children were running" : "\(pids.count) orphaned children ended after \(clock.now - start)"
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let alive = pids.filter(isAlive)
        for pid in alive { _ = kill(pid, SIGKILL) }
        return "\(alive.count) orphaned children still alive after \(timeout): killed"
    }
}

extension FaultProcess {
    /// Runs `body` while the process is frozen (SIGSTOP), and lets it go on (SIGCONT) whatever `body` does:
    /// a write made here lands at an exact point of the run.
    public func whileFrozen<T>(_ body: () async throws -> T) async throws -> T {
        send(SIGSTOP)
        defer { send(SIGCONT) }
        return try await body()
    }
}
