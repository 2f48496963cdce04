import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named places where upshift stops itself so that a test can kill it exactly there.
///
/// Why: a fault injected by watching the audit log from outside lands somewhere after the moment it saw,
/// never provably inside a short operation (a rename, between two file writes, between two compensations).
/// With `UPSHIFT_FAULT_POINTS=after:move-data-aside,…` upshift prints `fault point NAME` on stderr and
/// SIGSTOPs itself there; the test sees the stopped process, changes what it wants, and sends SIGKILL (the
/// crash) or SIGCONT (go on). Without the variable every call is a set lookup and nothing else.
///
/// Points: `before:STEP` (intent journaled, nothing done), `after:STEP` (done, not yet journaled),
/// `undo-before:STEP` / `undo-after:STEP` (the same around each compensation of a rollback), and
/// `switch-image:between-writes` (the image line written, the other edits not yet).
public enum FaultPoint {
    /// The variable that arms points (comma-separated names).
    public static let variable = "UPSHIFT_FAULT_POINTS"

    static let armed: Set<String> = parse(ProcessInfo.processInfo.environment[variable])

    static func parse(_ value: String?) -> Set<String> {
        Set((value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    /// Stops the whole process (SIGSTOP) when `name` is armed; returns when it is continued.
    public static func reach(_ name: String) {
        guard armed.contains(name) else { return }
        FileHandle.standardError.write(Data("upshift: fault point \(name): stopped (pid \(getpid()))\n".utf8))
        _ = kill(getpid(), SIGSTOP)
    }
}
