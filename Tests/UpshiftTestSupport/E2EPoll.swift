import Foundation

/// Waiting for a condition with a deadline, instead of sleeping for a guessed time.
public enum E2EPoll {
    /// Calls `condition` every `interval` until it returns true; throws `E2EFailure` naming `what` (and the last
    /// error the condition threw, if any) when `timeout` passes first. Returns the time it took.
    @discardableResult
    public static func until(
        _ what: String,
        timeout: Duration = .seconds(60),
        interval: Duration = .milliseconds(200),
        _ condition: () async throws -> Bool
    ) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + timeout
        var lastError: (any Error)?
        while true {
            do {
                if try await condition() { return clock.now - start }
                lastError = nil
            } catch {
                lastError = error
            }
            if clock.now >= deadline {
                let suffix = lastError.map { "; last error: \($0)" } ?? ""
                throw E2EFailure("timed out after \(timeout) waiting for \(what)\(suffix)")
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Polls `produce` until it returns a non-nil value, and returns that value.
    public static func value<T: Sendable>(
        _ what: String,
        timeout: Duration = .seconds(60),
        interval: Duration = .milliseconds(200),
        _ produce: () async throws -> T?
    ) async throws -> T {
        var found: T?
        try await until(what, timeout: timeout, interval: interval) {
            found = try await produce()
            return found != nil
        }
        return found!
    }
}
