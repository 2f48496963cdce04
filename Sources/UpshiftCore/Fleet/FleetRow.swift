import Foundation

/// One line of the fleet view: a deployment on one engine, or an engine that could not be looked at.
///
/// Plain data, printed as a table or `--json`. Every field but `context` is optional because a row may
/// stand for a failure: a context that did not answer has only `context` and `error`; a deployment that
/// could not be read has its labels and `error`.
public struct FleetRow: Sendable, Hashable, Codable {
    /// The last run of a deployment, from its audit trail.
    public struct LastRun: Sendable, Hashable, Codable {
        public var id: String
        /// The command's first word (`pg-upgrade`, `update`, `prune` …).
        public var kind: String
        /// `succeeded`, `rolled-back`, `failed` … as the audit trail has it.
        public var outcome: String
        public var startedAt: String

        public init(id: String, kind: String, outcome: String, startedAt: String) {
            self.id = id
            self.kind = kind
            self.outcome = outcome
            self.startedAt = startedAt
        }
    }

    public var context: String
    public var project: String?
    public var workingDirectory: String?
    public var databaseService: String?
    public var image: String?
    /// The PostgreSQL major the image's tag names.
    public var imageMajor: Int?
    /// The major in PG_VERSION of the data directory, read the way `upshift status` reads it.
    public var diskMajor: Int?
    /// What is on disk when it is not a cluster (`empty`, `volume … missing`) or why it was not read.
    public var diskNote: String?
    /// What past runs kept (old clusters, dumps, leftovers) that `upshift prune` could remove; `nil` unknown.
    public var keptItems: Int?
    public var keptBytes: Int64?
    /// `nil` when the project has no readable audit trail or no run yet.
    public var lastRun: LastRun?
    /// Why this context or deployment could not be looked at; `nil` when it was.
    public var error: String?

    public init(context: String, project: String? = nil, workingDirectory: String? = nil, error: String? = nil) {
        self.context = context
        self.project = project
        self.workingDirectory = workingDirectory
        self.error = error
    }

    /// True when the image and the data on disk name different majors (the tag was bumped without a migration).
    public var isMismatch: Bool {
        guard let imageMajor, let diskMajor else { return false }
        return imageMajor != diskMajor
    }

    /// The row for a context that did not answer.
    public static func unreachable(_ context: String, because reason: String) -> FleetRow {
        FleetRow(context: context, error: reason)
    }
}
