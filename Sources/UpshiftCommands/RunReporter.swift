import Foundation
import Synchronization
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// Renders execution events for people: one timestamped line per event on stderr, so progress never mixes
/// with `--json` output on stdout. Also forwards every event to the audit sink.
final class RunReporter: Sendable {
    let started = ContinuousClock.now
    let audit: @Sendable (ExecutionEvent) -> Void
    /// When the application went down (stop-app started) and came back (start-stack finished).
    private let window = Mutex<(down: ContinuousClock.Instant?, up: ContinuousClock.Instant?)>((nil, nil))

    init(audit: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }) {
        self.audit = audit
    }

    var handler: ExecutionEventHandler {
        { [self] event in
            self.audit(event)
            switch event {
            case .stepStarted(let step, _, _) where step.id == "stop-app": self.window.withLock { $0.down = .now }
            case .stepFinished(let step, _, _) where step.id == "start-stack": self.window.withLock { $0.up = .now }
            default: break
            }
            if let line = Self.line(for: event) { self.emit(line) }
        }
    }

    /// The application's downtime, measured from the events.
    var downtimeText: String {
        let (down, up) = window.withLock { $0 }
        guard let down, let up else { return "unknown" }
        return Self.seconds(up - down)
    }

    func emit(_ text: String) {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let stamp = Self.timestamp()
        FileHandle.standardError.write(Data("\(stamp) [\(String(format: "%6.1f", seconds))s] \(text)\n".utf8))
    }

    static func timestamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date())
    }

    static func line(for event: ExecutionEvent) -> String? {
        switch event {
        case .runStarted(let runID, let count): return "run \(runID): \(count) steps"
        case .stepStarted(let step, let index, let count): return "[\(index + 1)/\(count)] \(step.title) ..."
        case .stepProgress(_, let message): return "      \(message)"
        case .stepFinished(let step, let outcome, let duration): return "      ok  \(step.id) (\(Self.seconds(duration)))" + (outcome.summary.map { ": \($0)" } ?? "")
        case .stepFailed(let step, let error, _): return "      FAILED \(step.id): \(error)"
        case .pointOfNoReturn(let id): return "point of no return passed at \(id)"
        case .decided(let id, let branch, _, let steps): return "      \(id) chose \(branch): then \(steps.map(\.id).joined(separator: ", "))"
        case .oldClusterUnusable(_, let message): return "      POINT OF NO RETURN for the old cluster: \(message)"
        case .interrupted(let before): return "interrupted" + (before.map { " before \($0)" } ?? "")
        case .rollbackStarted(let ids): return "rolling back: \(ids.joined(separator: ", "))"
        case .compensating(let id, let description, _): return "   undo \(id): \(description)"
        case .compensated(let id): return "      undone \(id)"
        case .compensationFailed(let id, _, let error): return "      UNDO FAILED \(id): \(error)"
        case .rollbackFinished(let report): return report.isComplete ? "rollback complete" : "rollback INCOMPLETE"
        case .runFinished(let outcome): return "finished: \(outcome.status.rawValue)"
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.1fs", value)
    }
}

/// Asks before a run changes anything; `--yes` answers for the user, and is required without a terminal.
enum Confirmation {
    static func ask(_ question: String, yes: Bool) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw UpshiftError.usage("refusing to change anything without confirmation: stdin is not a terminal", hint: "add --yes to run unattended")
        }
        FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else { throw UpshiftError("cancelled; nothing was changed", exitCode: .ok) }
    }
}
