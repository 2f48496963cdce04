import Foundation
import UpshiftSupport

/// What a step does, as a stable dotted name (`compose.stop`, `data.move-aside`, `compose.edit-image`).
///
/// A string rather than an enum so that each layer (compose, data, apps) can add kinds without touching
/// this file; the same names key the `CompensationRegistry`.
public struct StepKind: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }
}

/// How to undo a step, as plain data: the registry key of the compensator, a sentence for people, and the
/// payload the compensator needs ("rename B back to A", "restore compose.yml from the snapshot",
/// "start services [server, worker]").
///
/// It is written into the journal *before* the step runs, so a fresh `upshift rollback` process can undo
/// the step from the journal alone, even when the step was interrupted half-way.
public struct CompensationSpec: Sendable, Hashable, Codable {
    /// Registry key of the compensator that knows how to apply `payload`.
    public var kind: StepKind
    /// Shown in `--dry-run`, progress and the "finish by hand" message. Must not contain secrets.
    public var description: String
    /// Everything the compensator needs; never a secret (the journal is a plain file).
    public var payload: JSONValue

    public init(kind: StepKind, description: String, payload: JSONValue = .null) {
        self.kind = kind
        self.description = description
        self.payload = payload
    }

    /// Builds a spec from a typed payload.
    public init<P: Encodable>(kind: StepKind, description: String, typedPayload: P) throws {
        self.init(kind: kind, description: description, payload: try JSONValue(encoding: typedPayload))
    }
}

/// The printable, Codable description of one step of a plan: what `--dry-run` shows and what `plan.json`
/// keeps. A step type (`PlanStep`) computes it from the same inputs its `run` uses; `ExecutableStep` pairs
/// the two for the executor.
public struct PlannedStep: Sendable, Hashable, Codable, Identifiable {
    /// Unique within the plan, stable across runs of the same planner (`stop-app`, `move-data-aside`).
    public var id: String
    public var title: String
    public var kind: StepKind
    /// The exact commands the step runs, already rendered for people with every secret masked.
    public var commands: [String]
    /// Whether the step changes anything outside the run folder. Only mutating steps are journaled with
    /// intent/done records and compensated.
    public var mutates: Bool
    /// How the step is undone. `nil` on a mutating step means its change needs no undo and is left in
    /// place (a dump written to the backup directory): rollback reports it but does not fail over it.
    public var compensation: CompensationSpec?
    /// After this step completes, a failure no longer undoes the steps up to and including it (e.g. the
    /// application has written to the new database). Recorded in the journal when reached.
    public var pointOfNoReturn: Bool
    /// Free-form notes for the plan reader (sizes, paths, why the step is there).
    public var notes: [String]
    /// Set on a decision step: the ways the run can go on, one of which its outcome names. The steps after
    /// the decision in the plan run after whichever branch was taken.
    public var branches: [PlannedBranch]?

    public init(
        id: String,
        title: String,
        kind: StepKind,
        commands: [String] = [],
        mutates: Bool,
        compensation: CompensationSpec? = nil,
        pointOfNoReturn: Bool = false,
        notes: [String] = []
    ) {
        self.id = id
        self.title = title
        self.kind = kind
        self.commands = commands
        self.mutates = mutates
        self.compensation = compensation
        self.pointOfNoReturn = pointOfNoReturn
        self.notes = notes
    }

    /// Renders commands for a step description: environment overrides shown with secret-looking names and
    /// known secrets masked (see `Command.rendered`).
    public static func render(_ commands: [Command], redactor: Redactor) -> [String] {
        commands.map { $0.rendered(redactor: redactor) }
    }
}
