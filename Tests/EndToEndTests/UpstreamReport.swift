import Foundation
import Synchronization

/// The problems one upstream project's scenario found, collected as values rather than recorded with `#expect`:
/// the scenarios of all projects run concurrently in detached tasks (see `UpstreamRuns`), outside the test case
/// that reports them, which records each problem as an issue of its own project's case.
final class UpstreamChecks: Sendable {
    let project: String
    private let problems = Mutex<[String]>([])

    init(project: String) { self.project = project }

    /// Records `message` when `condition` is false; returns `condition`.
    @discardableResult
    func expect(_ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
        if !condition { record(message()) }
        return condition
    }

    func record(_ message: String) {
        problems.withLock { $0.append("\(project): \(message)") }
    }

    var all: [String] { problems.withLock { $0 } }
}

/// What a scenario would have printed (timings, row counts, diffs), kept to be printed by its test case in one
/// piece instead of interleaved with the other scenarios.
final class UpstreamLog: Sendable {
    private let entries = Mutex<[String]>([])

    func add(_ line: String) { entries.withLock { $0.append(line) } }

    /// Runs `body` and logs its wall time as `TIMING label: …`.
    func timed<T>(_ label: String, _ body: () async throws -> T) async rethrows -> T {
        let clock = ContinuousClock()
        let start = clock.now
        defer { add("TIMING \(label): \(clock.now - start)") }
        return try await body()
    }

    var lines: [String] { entries.withLock { $0 } }
}
