import Foundation
import Synchronization

/// Set once upshift receives SIGINT/SIGTERM; the executor polls it between steps.
final class InterruptFlag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}
