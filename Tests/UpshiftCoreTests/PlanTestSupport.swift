import Foundation
import Synchronization
@testable import UpshiftPlans
@testable import UpshiftSupport

/// A fresh directory per test under the system temp dir, removed when the body returns or throws.
func withPlanTempDirectory<T>(_ label: String = #function, _ body: (String) async throws -> T) async throws -> T {
    let safe = label.filter { $0.isLetter || $0.isNumber }
    let path = FileManager.default.temporaryDirectory.path + "/upshift-plans-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
}

/// An ordered, thread-safe log of what fake steps and compensators did.
final class PlanEventLog: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// Collects executor events for assertions.
final class EventRecorder: Sendable {
    private let events = Mutex<[ExecutionEvent]>([])
    var handler: ExecutionEventHandler { { [self] event in self.events.withLock { $0.append(event) } } }
    var all: [ExecutionEvent] { events.withLock { $0 } }

    /// Compact names: `started:a`, `finished:a`, `failed:b`, `compensating:a`, ...
    var names: [String] {
        all.map { event in
            switch event {
            case .runStarted: return "run-started"
            case .stepStarted(let step, _, _): return "started:\(step.id)"
            case .stepProgress(let id, _, _): return "progress:\(id)"
            case .stepFinished(let step, _, _): return "finished:\(step.id)"
            case .stepFailed(let step, _, _): return "failed:\(step.id)"
            case .pointOfNoReturn(let id): return "ponr:\(id)"
            case .decided(let id, let branch, _, _): return "decided:\(id)=\(branch)"
            case .oldClusterUnusable(let id, _): return "old-unusable:\(id)"
            case .interrupted(let id): return "interrupted:\(id ?? "-")"
            case .rollbackStarted: return "rollback-started"
            case .compensating(let id, _, let partial): return "compensating:\(id)\(partial ? "(partial)" : "")"
            case .compensated(let id): return "compensated:\(id)"
            case .compensationFailed(let id, _, _): return "compensation-failed:\(id)"
            case .rollbackFinished: return "rollback-finished"
            case .runFinished: return "run-finished"
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum PlanFixtures {
    static let runID = RunID("20261128-134501-ab12")!
    static let fakeKind: StepKind = "test.fake"

    /// A mutating fake step whose undo is "log undo:<id>" through the `test.fake` compensator.
    static func fakeStep(_ id: String, log: PlanEventLog, mutates: Bool = true, pointOfNoReturn: Bool = false, fail: Bool = false) -> ExecutableStep {
        let spec = mutates ? CompensationSpec(kind: fakeKind, description: "undo \(id)", payload: ["id": .string(id)]) : nil
        let planned = PlannedStep(id: id, title: "Step \(id)", kind: "test.step", mutates: mutates, compensation: spec, pointOfNoReturn: pointOfNoReturn)
        return ExecutableStep(planned, action: ClosureStepAction { _ in
            log.add("run:\(id)")
            if fail { throw TestFailure("step \(id) broke") }
            return StepOutcome(summary: "did \(id)", data: ["id": .string(id)])
        })
    }

    /// Registry whose `test.fake` compensator logs and fails for the ids in `failing`.
    static func registry(log: PlanEventLog, failing: Set<String> = []) -> CompensationRegistry {
        CompensationRegistry.standard().registering(fakeKind, ClosureCompensator { spec, state, _ in
            let id = spec.payload.decode(as: [String: String].self)?["id"] ?? "?"
            let partial = state == .partial ? "(partial)" : ""
            log.add("undo:\(id)\(partial)")
            if failing.contains(id) { throw TestFailure("cannot undo \(id)") }
        })
    }
}

extension JSONValue {
    func decode<T: Decodable>(as type: T.Type) -> T? { try? decode(type) }
}
