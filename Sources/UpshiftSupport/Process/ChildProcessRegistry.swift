import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process-wide set of running children, and the SIGINT/SIGTERM forwarding to them.
///
/// Why a registry: a Ctrl-C during `pg_dumpall` or `docker compose up` must reach that child (which may
/// sit in its own process group, or the signal may come from `kill` rather than a terminal), and upshift
/// must learn that it was interrupted so the run can stop and roll back instead of starting the next step.
///
/// Signals are caught with a real (no-op except for one `write`) handler feeding a self-pipe, not with
/// `SIG_IGN`: an ignored disposition would be inherited by every child across `exec`, so the children
/// could never be interrupted; a caught disposition is reset to the default by `exec`.
public final class ChildProcessRegistry: Sendable {
    public static let shared = ChildProcessRegistry()

    /// Identifies one registered child.
    public struct Token: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    /// Identifies one observer registration.
    public struct ObserverToken: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    private struct Child {
        var pid: Int32
        var forwardedSignal: Int32?
    }

    private struct State {
        var nextID: UInt64 = 1
        var children: [UInt64: Child] = [:]
        var observers: [UInt64: @Sendable (Int32) -> Void] = [:]
        var signalsReceived = 0
    }

    private let state = Mutex(State())
    private static let handlersInstalled = Mutex(false)

    /// A private registry, for tests that must not disturb (or be disturbed by) other children of the process.
    /// Only `shared` receives the signals upshift gets; a private one forwards what `forward(_:)` is given.
    public init() {}

    // MARK: - Children

    /// Records a started child so that signals upshift receives are forwarded to it.
    public func register(pid: Int32) -> Token {
        installSignalHandlers()
        return state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.children[id] = Child(pid: pid)
            return Token(id: id)
        }
    }

    /// Forgets a finished child; returns the signal forwarded to it while it ran, if any.
    @discardableResult
    public func unregister(_ token: Token) -> Int32? {
        state.withLock { $0.children.removeValue(forKey: token.id)?.forwardedSignal }
    }

    /// PIDs of the children running now (for tests and diagnostics).
    public var runningPIDs: [Int32] {
        state.withLock { $0.children.values.map(\.pid).sorted() }
    }

    /// How many SIGINT/SIGTERM upshift has received since start.
    public var signalsReceived: Int {
        state.withLock { $0.signalsReceived }
    }

    // MARK: - Observers

    /// Calls `handler` (on a background thread) with each SIGINT/SIGTERM upshift receives, after it has been
    /// forwarded to the running children. While at least one observer is registered, upshift does not die
    /// from these signals: the observer decides (cancel the run, roll back, exit 130 on a second one).
    /// With no observer and no child running, the signal gets its default action (upshift terminates).
    public func addObserver(_ handler: @escaping @Sendable (Int32) -> Void) -> ObserverToken {
        installSignalHandlers()
        return state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.observers[id] = handler
            return ObserverToken(id: id)
        }
    }

    public func removeObserver(_ token: ObserverToken) {
        _ = state.withLock { $0.observers.removeValue(forKey: token.id) }
    }

    // MARK: - Signals

    /// Installs the process-wide SIGINT/SIGTERM handlers once (they feed `ChildProcessRegistry.shared`).
    /// Called lazily by `register` and `addObserver`; the CLI may call it at startup. SIGPIPE is left alone:
    /// an ignored disposition would be inherited by every child (the stdin writer blocks it in its own thread).
    public func installSignalHandlers() {
        let first = Self.handlersInstalled.withLock { installed -> Bool in
            defer { installed = true }
            return !installed
        }
        guard first else { return }
        let fds = SignalPipe.fds
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(fds.read, &byte, 1)
                if n == 1 { ChildProcessRegistry.shared.forward(Int32(byte)) } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
        thread.name = "upshift-signals"
        thread.start()
        for sig in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { sig in
                var byte = UInt8(truncatingIfNeeded: sig)
                _ = write(SignalPipe.fds.write, &byte, 1)
            }
            #else
            action.__sigaction_u.__sa_handler = { sig in
                var byte = UInt8(truncatingIfNeeded: sig)
                _ = write(SignalPipe.fds.write, &byte, 1)
            }
            #endif
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }

    /// Forwards `sig` to this registry's children and tells its observers (what a received signal does).
    func forward(_ sig: Int32) {
        let (pids, observers) = state.withLock { state -> ([Int32], [@Sendable (Int32) -> Void]) in
            state.signalsReceived += 1
            for key in state.children.keys { state.children[key]?.forwardedSignal = sig }
            return (state.children.values.map(\.pid), Array(state.observers.values))
        }
        for pid in pids { signalProcessGroup(pid, sig) }
        for observer in observers { observer(sig) }
        if pids.isEmpty && observers.isEmpty && self === ChildProcessRegistry.shared {
            // Nobody to hand the signal to: behave as if upshift had never caught it.
            signal(sig, SIG_DFL)
            raise(sig)
        }
    }
}

/// The self-pipe the async-signal-safe handler writes to. Created before any handler is installed, so the
/// handler only ever reads an initialised global.
private enum SignalPipe {
    static let fds: (read: Int32, write: Int32) = {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { fatalError("pipe() failed: \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }()
}

/// Sends `sig` to the child's whole process group when the child leads one (Foundation starts each child
/// in its own group, so a terminal's Ctrl-C never reaches it), which also reaches its grandchildren, the
/// way a terminal would; else to the child alone.
func signalProcessGroup(_ pid: Int32, _ sig: Int32) {
    if pid > 0 && getpgid(pid) == pid {
        kill(-pid, sig)
    } else {
        kill(pid, sig)
    }
}
