/// What a look at the data directory found. A missing volume or an empty directory is an answer, not an
/// error: `status` reports it and pg-upgrade refuses with a reason.
public enum DataProbe: Sendable, Hashable, Codable {
    /// `PG_VERSION` names this major.
    case cluster(major: Int, pgVersion: String)
    /// The named volume does not exist (nothing was ever started, or it was removed with `down -v`).
    case volumeMissing(name: String)
    /// The data directory (or the bind source) does not exist.
    case directoryMissing(path: String)
    /// The directory exists and is empty: Postgres has not initialised it yet.
    case empty(path: String)
    /// The directory has files but no `PG_VERSION`: not a Postgres cluster (or PGDATA points elsewhere).
    case notACluster(path: String)
    /// The data is not on a bind mount or named volume, so there is nothing durable to look at.
    case notPersistent

    public var major: Int? {
        if case .cluster(let major, _) = self { return major }
        return nil
    }

    public var summary: String {
        switch self {
        case .cluster(_, let version): return "PostgreSQL \(version) cluster"
        case .volumeMissing(let name): return "volume \(name) does not exist"
        case .directoryMissing(let path): return "\(path) does not exist"
        case .empty(let path): return "\(path) is empty (not initialised yet)"
        case .notACluster(let path): return "\(path) has no PG_VERSION (not a PostgreSQL data directory)"
        case .notPersistent: return "data is not on a bind mount or named volume"
        }
    }
}

/// Owner and permission bits of a file or directory as seen inside the helper container.
public struct FileOwnership: Sendable, Hashable, Codable {
    public var uid: Int
    public var gid: Int
    /// Permission bits, e.g. 0o700.
    public var mode: Int

    public init(uid: Int, gid: Int, mode: Int) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    /// Parses `stat -c '%u %g %a'` output ("999 999 700"); `nil` for anything else.
    public init?(statLine: String) {
        let parts = statLine.split(whereSeparator: \.isWhitespace)
        guard parts.count == 3, let uid = Int(parts[0]), let gid = Int(parts[1]), let mode = Int(parts[2], radix: 8) else { return nil }
        self.init(uid: uid, gid: gid, mode: mode)
    }
}
