/// How the cluster's data reaches the new major.
public enum UpgradeMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// `pg_dumpall` of the old cluster, restored into a freshly initialised new one. Slowest, safest: the
    /// old data directory is never opened by the new server.
    case dump
    /// InvenTree's own tasks: `invoke backup` of the old cluster, a fresh new cluster, `invoke update
    /// --skip-backup`, `invoke restore --db-file <recorded>` (see `InvokeUpgradeSteps`).
    case invoke
}

/// Everything the user chose on the command line for `pg-upgrade`.
public struct PgUpgradeOptions: Sendable, Hashable, Codable {
    public var targetMajor: Int
    public var method: UpgradeMethod
    /// Where dumps go; default `<project>/backups`.
    public var backupDirectory: String?
    /// `--no-rollback`: leave a failed run as it is for inspection.
    public var rollbackOnFailure: Bool
    /// Seconds `docker compose stop` waits before SIGKILL: a database killed mid-checkpoint is the
    /// "not shut down cleanly" failure, so the default is long.
    public var stopTimeout: Int
    /// Seconds to wait for a server to accept connections.
    public var readyTimeout: Int

    public init(targetMajor: Int, method: UpgradeMethod = .dump, backupDirectory: String? = nil, rollbackOnFailure: Bool = true, stopTimeout: Int = 120, readyTimeout: Int = 180) {
        self.targetMajor = targetMajor
        self.method = method
        self.backupDirectory = backupDirectory
        self.rollbackOnFailure = rollbackOnFailure
        self.stopTimeout = stopTimeout
        self.readyTimeout = readyTimeout
    }
}
