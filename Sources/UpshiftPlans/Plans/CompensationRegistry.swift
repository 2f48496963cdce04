import Foundation
import UpshiftSupport

/// How far the step got before its compensation is asked to undo it.
public enum CompensationState: Sendable, Hashable {
    /// The step reported completion; its outcome is known.
    case completed(StepOutcome)
    /// The intent was recorded but the step never reported completion: it failed, was interrupted, or the
    /// process was killed while it ran. The compensator must inspect the world and undo whatever part of
    /// the step happened (e.g. for "rename A to B": only rename back when B exists and A does not).
    case partial
}

/// What a compensator can see.
public struct CompensationContext: Sendable {
    public var runID: RunID
    public var runFolder: RunFolder?
    public var redactor: Redactor
    public var progress: @Sendable (String) -> Void

    public init(runID: RunID, runFolder: RunFolder? = nil, redactor: Redactor = Redactor(), progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.runID = runID
        self.runFolder = runFolder
        self.redactor = redactor
        self.progress = progress
    }
}

/// Undoes one kind of step from its recorded `CompensationSpec`.
///
/// Must be idempotent: rollback may run it again after a crash during the compensation itself, and a
/// second `upshift rollback` must be harmless.
public protocol Compensating: Sendable {
    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws
}

/// A compensator built from a closure (the compose layer registers "start these services" this way).
public struct ClosureCompensator: Compensating {
    let body: @Sendable (CompensationSpec, CompensationState, CompensationContext) async throws -> Void
    public init(_ body: @escaping @Sendable (CompensationSpec, CompensationState, CompensationContext) async throws -> Void) {
        self.body = body
    }
    public func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        try await body(spec, state, context)
    }
}

/// Compensators keyed by kind, so a fresh process can turn journal records back into undo code.
///
/// The composition root registers every kind the planners use; `standard()` already holds the file-level
/// ones defined in this folder.
public struct CompensationRegistry: Sendable {
    private var handlers: [StepKind: any Compensating] = [:]

    public init() {}

    /// The compensators that need nothing but the local file system and the run folder.
    public static func standard() -> CompensationRegistry {
        var registry = CompensationRegistry()
        registry.register(RenameCompensator.kind, RenameCompensator())
        registry.register(RestoreSnapshotCompensator.kind, RestoreSnapshotCompensator())
        return registry
    }

    public mutating func register(_ kind: StepKind, _ handler: any Compensating) {
        handlers[kind] = handler
    }

    public func registering(_ kind: StepKind, _ handler: any Compensating) -> CompensationRegistry {
        var copy = self
        copy.register(kind, handler)
        return copy
    }

    public var kinds: [StepKind] { handlers.keys.sorted { $0.rawValue < $1.rawValue } }

    /// - Throws: `UpshiftError` naming the kind when nothing is registered for it (a build of upshift
    ///   older than the one that wrote the journal, or a planner that forgot to register).
    public func resolve(_ kind: StepKind) throws -> any Compensating {
        guard let handler = handlers[kind] else {
            throw UpshiftError("no compensation is known for step kind \"\(kind)\"", hint: "run the rollback with the upshift version that started the run", exitCode: .failedRollbackIncomplete)
        }
        return handler
    }
}
