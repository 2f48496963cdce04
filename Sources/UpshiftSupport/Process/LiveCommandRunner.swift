import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs commands with Foundation.Process.
///
/// - stdout and stderr are drained by two concurrent readers (reading one to EOF before the other
///   deadlocks as soon as the child fills the other pipe's 64 KiB buffer);
/// - `.file` stdout hands the file descriptor straight to the child, so a dump of many GB never passes
///   through upshift's memory;
/// - the environment is the inherited one plus `Command.environment` minus `Command.unsetEnvironment`,
///   and `PWD` is set to the working directory (compose interpolates `${PWD}` from the environment);
/// - timeouts send SIGTERM, then SIGKILL after `terminationGrace`; task cancellation does the same and
///   then throws `CancellationError`;
/// - SIGINT/SIGTERM received by upshift are forwarded to the child (see `ChildProcessRegistry`), and such
///   an interrupted command throws `CommandInterrupted`.
public struct LiveCommandRunner: CommandRunning {
    /// Time between SIGTERM and SIGKILL when a command times out or is cancelled.
    public var terminationGrace: Duration
    /// Captured stderr keeps at most this many trailing bytes (a verbose child cannot exhaust memory).
    public var maxCapturedStderrBytes: Int
    /// After the child has exited, a pipe still held open by a grandchild is abandoned after this much silence.
    public var drainAfterExit: Duration
    /// Where running children are registered for signal forwarding (`.shared` receives upshift's signals).
    public var registry: ChildProcessRegistry

    public init(
        terminationGrace: Duration = .seconds(5),
        maxCapturedStderrBytes: Int = 4 << 20,
        drainAfterExit: Duration = .seconds(1),
        registry: ChildProcessRegistry = .shared
    ) {
        self.terminationGrace = terminationGrace
        self.maxCapturedStderrBytes = maxCapturedStderrBytes
        self.drainAfterExit = drainAfterExit
        self.registry = registry
    }

    /// The environment a child of `command` gets, given the parent's environment.
    public static func environment(for command: Command, inherited: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var env = inherited
        for name in command.unsetEnvironment { env.removeValue(forKey: name) }
        for (name, value) in command.environment { env[name] = value }
        if let dir = command.workingDirectory { env["PWD"] = dir }
        return env
    }

    public func run(
        _ command: Command,
        stdout: OutputDestination,
        onLine: (@Sendable (OutputLine) -> Void)?
    ) async throws -> CommandResult {
        try Task.checkCancellation()
        let registry = self.registry
        registry.installSignalHandlers()

        let env = Self.environment(for: command)
        if let dir = command.workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandLaunchFailure(executable: command.executable, reason: "working directory \(dir) does not exist")
            }
        }
        guard let executable = ExecutableLocator.locate(command.executable, path: env["PATH"], workingDirectory: command.workingDirectory) else {
            let reason = command.executable.contains("/") ? "no such executable file" : "not found on PATH"
            throw CommandLaunchFailure(executable: command.executable, reason: reason)
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = command.arguments
        process.environment = env
        if let dir = command.workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: dir) }

        let stdinPipe: Pipe? = command.standardInput == nil || command.standardInputFile != nil ? nil : Pipe()
        process.standardInput = stdinPipe ?? FileHandle.nullDevice
        var stdinFile: FileHandle?
        if let path = command.standardInputFile {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CommandLaunchFailure(executable: command.executable, reason: "cannot read stdin file \(path)")
            }
            stdinFile = handle
            process.standardInput = handle
        }
        defer { try? stdinFile?.close() }

        var stdoutPipe: Pipe?
        let captureStdout: Bool
        switch stdout {
        case .capture:
            stdoutPipe = Pipe()
            captureStdout = true
        case .file(let handle):
            process.standardOutput = handle
            captureStdout = false
        case .discard:
            if onLine != nil { stdoutPipe = Pipe() }
            captureStdout = false
        }
        if let stdoutPipe { process.standardOutput = stdoutPipe } else if case .discard = stdout { process.standardOutput = FileHandle.nullDevice }
        let stderrPipe = Pipe()
        process.standardError = stderrPipe

        let exit = ExitLatch()
        process.terminationHandler = { finished in
            let status = finished.terminationStatus
            exit.resolve(finished.terminationReason == .uncaughtSignal ? .signaled(status) : .exited(status))
        }

        let started = ContinuousClock.now
        do {
            try Self.withCleanSignalMask { try process.run() }
        } catch {
            throw CommandLaunchFailure(executable: command.executable, reason: "\(error)")
        }
        let pid = process.processIdentifier
        // Foundation reports termination only once every descendant has closed its notification socket, so
        // a grandchild left behind (a daemon, a `sleep` under a killed shell) would hold the result back.
        // Watch the child itself too, without reaping it (Foundation still does that).
        Self.detach {
            if let t = Self.waitWithoutReaping(pid: pid) { exit.resolve(t) }
        }
        let token = registry.register(pid: pid)
        let flags = RunFlags()

        // Parent copies of the child's pipe ends must be closed or EOF never comes.
        try? stdinPipe?.fileHandleForReading.close()
        try? stdoutPipe?.fileHandleForWriting.close()
        try? stderrPipe.fileHandleForWriting.close()

        if let input = command.standardInput, let stdinPipe {
            let fd = stdinPipe.fileHandleForWriting.fileDescriptor
            Self.detach {
                Self.writeAll(input, to: fd)
                try? stdinPipe.fileHandleForWriting.close()
            }
        }

        let drain = drainAfterExit
        let maxErr = maxCapturedStderrBytes
        let outFD = stdoutPipe?.fileHandleForReading.fileDescriptor
        let errFD = stderrPipe.fileHandleForReading.fileDescriptor
        async let capturedOut: Data = Self.background {
            guard let outFD else { return Data() }
            return Self.drain(fd: outFD, stream: .stdout, keep: captureStdout ? Int.max : 0, flags: flags, idleLimit: drain, onLine: onLine)
        }
        async let capturedErr: Data = Self.background {
            Self.drain(fd: errFD, stream: .stderr, keep: maxErr, flags: flags, idleLimit: drain, onLine: onLine)
        }

        let grace = terminationGrace
        let timeoutTask: Task<Void, Never>? = command.timeout.map { timeout in
            Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                flags.timedOut.store(true, ordering: .sequentiallyConsistent)
                await Self.terminate(pid: pid, flags: flags, grace: grace)
            }
        }

        // Waiting itself ignores cancellation: a cancelled run still waits for its child to be gone.
        let termination = await withTaskCancellationHandler {
            await exit.wait()
        } onCancel: {
            Task { await Self.terminate(pid: pid, flags: flags, grace: grace) }
        }
        flags.exited.store(true, ordering: .sequentiallyConsistent)
        timeoutTask?.cancel()
        let forwarded = registry.unregister(token)
        let out = await capturedOut
        let err = await capturedErr
        // Both readers are done with their descriptors: close them now. Left to deallocation they stay open
        // as long as Foundation keeps the Process (and its pipes) alive after the exit, which in a
        // long-lived process (the end-to-end suite runs thousands of commands) piled up past fd 1024,
        // where select(2) in Foundation corrupts memory (a signal 11 inside Process.run).
        try? stdoutPipe?.fileHandleForReading.close()
        try? stderrPipe.fileHandleForReading.close()
        withExtendedLifetime((stdinPipe, stdoutPipe, stderrPipe, process)) {}

        if Task.isCancelled { throw CancellationError() }
        if let forwarded { throw CommandInterrupted(command: command, signal: forwarded, termination: termination) }
        return CommandResult(
            command: command,
            termination: termination,
            standardOutput: out,
            standardError: err,
            duration: ContinuousClock.now - started,
            timedOut: flags.timedOut.load(ordering: .sequentiallyConsistent)
        )
    }

    // MARK: - Helpers

    /// Spawns with an empty signal mask. Swift concurrency and GCD threads block most signals, and
    /// Foundation's spawn passes the calling thread's mask on, which would leave SIGINT/SIGTERM blocked in
    /// the child: it could then be neither interrupted nor timed out gracefully.
    static func withCleanSignalMask<T>(_ body: () throws -> T) rethrows -> T {
        var empty = sigset_t()
        var saved = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        return try body()
    }

    /// Blocks until `pid` has terminated and reports how, leaving it a zombie for Foundation to reap.
    /// Returns nil when the child was already reaped (Foundation's handler reports it then).
    static func waitWithoutReaping(pid: Int32) -> Termination? {
        var info = siginfo_t()
        while true {
            let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
            if rc == 0 { break }
            if errno == EINTR { continue }
            return nil
        }
        let status = info._sifields._sigchld.si_status
        switch info.si_code {
        case Int32(CLD_EXITED): return .exited(status)
        case Int32(CLD_KILLED), Int32(CLD_DUMPED): return .signaled(status)
        default: return nil
        }
    }

    /// SIGTERM now, SIGKILL after `grace` unless the child has exited by then (to its process group, so
    /// grandchildren that would keep the pipes open go too).
    static func terminate(pid: Int32, flags: RunFlags, grace: Duration) async {
        guard !flags.exited.load(ordering: .sequentiallyConsistent) else { return }
        signalProcessGroup(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if flags.exited.load(ordering: .sequentiallyConsistent) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !flags.exited.load(ordering: .sequentiallyConsistent) { signalProcessGroup(pid, SIGKILL) }
    }

    /// Runs blocking work (pipe reads, waitid) on its own thread: neither the cooperative pool nor GCD's
    /// small global pool may be tied up by it (with 2 cores, GCD queued the third blocking reader for ~1.5 s).
    static func background<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            detach { continuation.resume(returning: body()) }
        }
    }

    static func detach(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = "upshift-process-io"
        thread.start()
    }

    /// Writes stdin for the child. Runs on its own thread with SIGPIPE blocked, so a child that exits
    /// without reading gives EPIPE here instead of killing upshift; the pending SIGPIPE is consumed.
    static func writeAll(_ data: Data, to fd: Int32) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        defer {
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGPIPE) == 1 {
                var zero = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&pipeSignal, nil, &zero)
            }
        }
        data.withUnsafeBytes { raw in
            guard var base = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let n = write(fd, base, left)
                if n > 0 {
                    left -= n
                    base = base.advanced(by: n)
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return  // EPIPE: the child stopped reading; its exit status tells the story.
                }
            }
        }
    }

    /// Reads `fd` until EOF (or until the child has exited and the pipe stayed silent for `idleLimit`),
    /// reporting lines and keeping at most the last `keep` bytes.
    static func drain(
        fd: Int32,
        stream: OutputLine.Stream,
        keep: Int,
        flags: RunFlags,
        idleLimit: Duration,
        onLine: (@Sendable (OutputLine) -> Void)?
    ) -> Data {
        var captured = Data()
        var splitter = LineSplitter()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var idleSince: ContinuousClock.Instant?
        let emit: (String) -> Void = { text in onLine?(OutputLine(stream: stream, text: text)) }
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 {
                if flags.exited.load(ordering: .sequentiallyConsistent) {
                    let now = ContinuousClock.now
                    if let since = idleSince {
                        if now - since >= idleLimit { break }
                    } else {
                        idleSince = now
                    }
                }
                continue
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                idleSince = nil
                buffer.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    if keep > 0 {
                        captured.append(contentsOf: chunk)
                        if keep != Int.max && captured.count > keep * 2 {
                            captured = Data(captured.suffix(keep))
                        }
                    }
                    if onLine != nil { splitter.feed(chunk, emit: emit) }
                }
            } else if n == 0 {
                break
            } else if errno == EINTR || errno == EAGAIN {
                continue
            } else {
                break
            }
        }
        if onLine != nil { splitter.finish(emit: emit) }
        if keep != Int.max && captured.count > keep { captured = Data(captured.suffix(keep)) }
        return captured
    }
}

/// The first termination report wins (Foundation's handler or our own `waitid`); waiting is not cancellable.
final class ExitLatch: Sendable {
    private struct State {
        var result: Termination?
        var waiter: CheckedContinuation<Termination, Never>?
    }
    private let state = Mutex(State())

    func resolve(_ termination: Termination) {
        let waiter = state.withLock { state -> CheckedContinuation<Termination, Never>? in
            guard state.result == nil else { return nil }
            state.result = termination
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: termination)
    }

    func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Termination? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Flags shared between a run, its readers and its timeout task.
final class RunFlags: Sendable {
    let exited = Atomic<Bool>(false)
    let timedOut = Atomic<Bool>(false)
}
