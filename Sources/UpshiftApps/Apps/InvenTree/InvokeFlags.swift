/// The long flags of InvenTree's invoke tasks, per version. Short flags are auto-assigned by invoke and
/// differ between releases (reference §2.0), so upshift only ever passes long ones, and only those the
/// detected version has.
public struct InvokeFlags: Sendable, Hashable {
    public var version: InvenTreeVersion

    public init(version: InvenTreeVersion) { self.version = version }

    /// `update` without its automatic backup (every version has `--skip-backup`). A plain `update` backs
    /// up the database it is about to migrate — after a Postgres switch that is the new, empty one, which a
    /// bare `restore` would then pick as the newest file.
    public var updateArguments: [String] { ["update", "--skip-backup"] }

    /// The tasks that do what `update --skip-backup` does. With the package index reachable that is `update`
    /// itself; without it, `update`'s steps after its pip `install`: `migrate`, `static`, and from 1.3 the
    /// post-hook `int.clean-settings` (upstream `tasks.py`; in docker the frontend is skipped anyway).
    public func updateTasks(packageIndexReachable: Bool) -> [[String]] {
        guard !packageIndexReachable else { return [updateArguments] }
        return [["migrate"], ["static"]] + (version.atLeast(1, 3) ? [["int.clean-settings"]] : [])
    }

    /// `invoke migrate, invoke static`: tasks from `updateTasks` as a title or summary names them.
    public static func describe(_ tasks: [[String]]) -> String {
        tasks.map { "invoke " + $0.joined(separator: " ") }.joined(separator: ", ")
    }

    /// `backup` of database and media (flags are the same for every version).
    public var backupArguments: [String] { ["backup"] }

    /// `restore` of an explicitly named database file, and media only when a media file is named.
    /// 0.15 to 1.0: `--ignore-media`/`--ignore-database`; 1.1+: `--skip-media`/`--skip-db` (django-dbbackup 5).
    /// - Throws: usage error before 0.15, whose restore takes no options (`InvenTreeReleases.requireRestoreByName`).
    public func restoreArguments(dbFile: String?, mediaFile: String?) throws -> [String] {
        try InvenTreeReleases.requireRestoreByName(version)
        var args = ["restore"]
        if let dbFile { args += ["--db-file", dbFile] } else { args.append(skipDatabaseFlag) }
        if let mediaFile { args += ["--media-file", mediaFile] } else { args.append(skipMediaFlag) }
        return args
    }

    public var skipMediaFlag: String { InvenTreeReleases.has(version, "restore", "--skip-media") ? "--skip-media" : "--ignore-media" }
    public var skipDatabaseFlag: String { InvenTreeReleases.has(version, "restore", "--skip-db") ? "--skip-db" : "--ignore-database" }

    /// Whether `invoke restore` runs `pg_restore --clean --if-exists` (django-dbbackup 5, InvenTree 1.1+).
    /// Without `--if-exists` (<= 1.0) every object of the dump must already exist in the target, or the
    /// single-transaction restore aborts (InvenTree #8918).
    public var restoreUsesIfExists: Bool { version.atLeast(1, 1) }
}
