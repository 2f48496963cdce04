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

    /// `backup` of database and media (flags are the same for every version).
    public var backupArguments: [String] { ["backup"] }

    /// `restore` of an explicitly named database file, and media only when a media file is named.
    /// <= 1.0: `--ignore-media`/`--ignore-database`; 1.1+: `--skip-media`/`--skip-db` (django-dbbackup 5).
    public func restoreArguments(dbFile: String?, mediaFile: String?) -> [String] {
        var args = ["restore"]
        if let dbFile { args += ["--db-file", dbFile] } else { args.append(skipDatabaseFlag) }
        if let mediaFile { args += ["--media-file", mediaFile] } else { args.append(skipMediaFlag) }
        return args
    }

    public var skipMediaFlag: String { version.atLeast(1, 1) ? "--skip-media" : "--ignore-media" }
    public var skipDatabaseFlag: String { version.atLeast(1, 1) ? "--skip-db" : "--ignore-database" }

    /// Whether `invoke restore` runs `pg_restore --clean --if-exists` (django-dbbackup 5, InvenTree 1.1+).
    /// Without `--if-exists` (<= 1.0) every object of the dump must already exist in the target, or the
    /// single-transaction restore aborts (InvenTree #8918).
    public var restoreUsesIfExists: Bool { version.atLeast(1, 1) }
}
