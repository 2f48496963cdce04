/// How the cluster's data reaches the new major.
public enum UpgradeMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// `pg_dumpall` of the old cluster, restored into a freshly initialised new one. Slowest, safest: the
    /// old data directory is never opened by the new server.
    case dump
    /// InvenTree's own tasks: `invoke backup` of the old cluster, a fresh new cluster, `invoke update
    /// --skip-backup`, `invoke restore --db-file <recorded>` (see `InvokeUpgradeSteps`).
    case invoke
    /// The new major's `pg_upgrade` in a one-off container holding both majors' binaries, on one mount
    /// holding both clusters. Downtime barely grows with the data in `link`, `clone` and `swap` mode.
    case pgUpgrade = "pg_upgrade"
}

/// How `pg_upgrade` moves the relation files (its `--copy`, `--link`, `--clone`, `--swap`).
public enum TransferMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Copies every file: 2x space, the old cluster stays untouched (rollback is a rename).
    case copy
    /// Hard links: near-constant time, no extra space; the old cluster is unusable once the new one starts.
    case link
    /// Reflinks (Btrfs, XFS with reflink): link speed, old cluster untouched; fails on other filesystems.
    case clone
    /// Moves the files (PostgreSQL 18+): the old cluster is destroyed as soon as the transfer begins.
    case swap

    /// Whether the old cluster can be lost during the run, so a verified dump must exist first and the
    /// rollback rebuilds the old cluster from it.
    public var destroysOldCluster: Bool { self == .link || self == .swap }
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
    /// `pg_upgrade` transfer mode (method pg_upgrade only).
    public var mode: TransferMode
    /// Parallel jobs for dump/restore and pg_upgrade; `nil` = cores of the engine host.
    public var jobs: Int?
    /// The image with both majors' binaries; `nil` = `tianon/postgres-upgrade:OLD-to-NEW`.
    public var upgradeImage: String?
    /// `--image`: the exact target image (`nil`: the family's tag for the new major).
    public var targetImage: String?
    /// `false` (`--no-online-prepare`): take the dump and the "before" fingerprint only inside the window.
    /// `nil` = on. Optional so that journals written before the option existed still decode.
    public var prepareOnline: Bool?
    /// The engine's endpoint when it is not on this host (`tcp://…`, `ssh://…`): upshift then reaches the
    /// database only through `DatabaseTunnel` and publishes nothing. `nil`: a local engine.
    public var remoteEngine: String?

    /// Whether to dump and fingerprint from a snapshot while the application still serves.
    public var prepareOnlineEnabled: Bool { prepareOnline ?? true }

    public init(targetMajor: Int, method: UpgradeMethod = .dump, backupDirectory: String? = nil, rollbackOnFailure: Bool = true, stopTimeout: Int = 120, readyTimeout: Int = 180,
        mode: TransferMode = .copy, jobs: Int? = nil, upgradeImage: String? = nil
    ) {
        self.targetMajor = targetMajor
        self.method = method
        self.backupDirectory = backupDirectory
        self.rollbackOnFailure = rollbackOnFailure
        self.stopTimeout = stopTimeout
        self.readyTimeout = readyTimeout
        self.mode = mode
        self.jobs = jobs
        self.upgradeImage = upgradeImage
    }
}
