import Foundation
import UpshiftSupport

/// One line of `upshift doctor`: what was checked, what was found, and how to fix it.
///
/// Plain data so the command can print it as a line or as `--json`, and tests can assert on `id` and
/// `status` instead of on wording.
public struct DoctorCheck: Sendable, Hashable, Codable {
    /// How bad a finding is. Only `fail` makes doctor exit non-zero: a `fail` is something that would make
    /// `pg-upgrade` or `update` refuse to start, or a deployment that is already broken.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case pass
        /// A fact worth knowing that needs no action (what upshift will do about it).
        case info
        /// Works, but the user should look: something may behave differently after the upgrade.
        case warn
        case fail
        /// Could not be checked (the database is stopped, the image is not local …); `found` says why.
        case skip
    }

    /// Stable identifier (`major`, `data-mount`, `md5-passwords` …) for scripts and tests.
    public var id: String
    /// Short human title ("image major vs data on disk").
    public var title: String
    public var status: Status
    /// What was found, one sentence.
    public var found: String
    /// What to do about it (nil when nothing is needed).
    public var fix: String?

    public init(_ id: String, _ title: String, _ status: Status, _ found: String, fix: String? = nil) {
        self.id = id
        self.title = title
        self.status = status
        self.found = found
        self.fix = fix
    }
}

/// Everything `upshift doctor` found, in check order.
public struct DoctorReport: Sendable, Codable {
    public var project: String?
    public var directory: String?
    /// The major the upgrade checks were run for (`--to`, default the latest known major).
    public var targetMajor: Int
    public var checks: [DoctorCheck]
    /// True when docker or compose did not answer: the exit code is then 69 (unavailable), not 1.
    public var unavailable: Bool

    public init(project: String?, directory: String?, targetMajor: Int, checks: [DoctorCheck], unavailable: Bool = false) {
        self.project = project
        self.directory = directory
        self.targetMajor = targetMajor
        self.checks = checks
        self.unavailable = unavailable
    }

    /// How many checks ended in each status.
    public var counts: [DoctorCheck.Status: Int] {
        Dictionary(grouping: checks, by: \.status).mapValues(\.count)
    }

    public var failed: Bool { checks.contains { $0.status == .fail } }

    /// 0 when nothing failed, 69 when docker/compose is unavailable, else 1.
    public var exitCode: ExitCode {
        if unavailable { return .unavailable }
        return failed ? .failedRolledBack : .ok
    }

    public func check(_ id: String) -> DoctorCheck? { checks.first { $0.id == id } }

    enum CodingKeys: String, CodingKey { case project, directory, targetMajor, checks, unavailable, summary, ok }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(project, forKey: .project)
        try c.encodeIfPresent(directory, forKey: .directory)
        try c.encode(targetMajor, forKey: .targetMajor)
        try c.encode(checks, forKey: .checks)
        try c.encode(unavailable, forKey: .unavailable)
        var summary: [String: Int] = [:]
        for status in DoctorCheck.Status.allCases { summary[status.rawValue] = counts[status] ?? 0 }
        try c.encode(summary, forKey: .summary)
        try c.encode(!failed && !unavailable, forKey: .ok)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        project = try c.decodeIfPresent(String.self, forKey: .project)
        directory = try c.decodeIfPresent(String.self, forKey: .directory)
        targetMajor = try c.decode(Int.self, forKey: .targetMajor)
        checks = try c.decode([DoctorCheck].self, forKey: .checks)
        unavailable = try c.decodeIfPresent(Bool.self, forKey: .unavailable) ?? false
    }
}
