import Foundation
import UpshiftSupport

extension ComposeOperations {
    /// Every service running for three consecutive polls: a service that starts and then exits (a failed
    /// migration on start, a crash loop) fails the step.
    package static func waitStable(_ compose: ComposeOperations, services: [String], timeout: Int) async throws {
        let expected = Set(services)
        let deadline = ContinuousClock.now + .seconds(min(90, timeout))
        var stable = 0
        while true {
            let missing = expected.subtracting(try await compose.runningServices())
            if missing.isEmpty {
                stable += 1
                if stable >= 3 { return }
            } else {
                stable = 0
                if ContinuousClock.now >= deadline {
                    throw UpshiftError("these services are not running: \(missing.sorted().joined(separator: ", "))", hint: "see `docker compose logs \(missing.sorted().joined(separator: " "))`")
                }
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}
