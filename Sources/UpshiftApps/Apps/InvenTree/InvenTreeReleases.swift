import UpshiftSupport

/// What each InvenTree release's invoke tasks accept, read from upstream `tasks.py` per release (the map with
/// PR numbers is `shared/reference/inventree-versions.md`). Every invoke argument upshift builds is checked
/// here, so a flag never reaches a release that lacks it: invoke would stop half-way through a run with
/// `No idea what '…' is!`.
public enum InvenTreeReleases {
    /// One long flag of one task, present in `since ..< until`.
    public struct Flag: Sendable, Hashable {
        public var task: String
        public var flag: String
        public var since: InvenTreeVersion
        public var until: InvenTreeVersion?

        public func exists(in version: InvenTreeVersion) -> Bool {
            version >= since && until.map { version < $0 } ?? true
        }

        /// `0.15` or `0.15 to 1.0`: where the flag exists, for messages.
        public var range: String {
            let from = "\(since.major).\(since.minor)"
            guard let until else { return "from \(from)" }
            return "from \(from) until \(until.major).\(until.minor)"
        }
    }

    /// The oldest release upshift drives: 0.12 is where the task set it relies on (`update --skip-backup`,
    /// `export-records`/`import-records`, `version`) first exists together.
    public static let oldestSupported = InvenTreeVersion(0, 12, 0)

    /// The first release whose `invoke restore` takes options. Before it a bare restore picks the newest file
    /// in the backup directory by the date in its name, so upshift cannot say which backup is restored.
    public static let restoreNamesItsFile = InvenTreeVersion(0, 15, 0)

    /// `export-records --include-permissions` writes an empty list (`[]`) in these releases (the loop tested
    /// `include_permissions is False`; fixed for 1.0 by #9704).
    public static let emptyPermissionsExport = InvenTreeVersion(0, 14, 0) ..< InvenTreeVersion(1, 0, 0)

    static func v(_ major: Int, _ minor: Int) -> InvenTreeVersion { InvenTreeVersion(major, minor) }

    public static let flags: [Flag] = [
        Flag(task: "update", flag: "--skip-backup", since: v(0, 12)),
        Flag(task: "restore", flag: "--db-file", since: v(0, 15)),
        Flag(task: "restore", flag: "--media-file", since: v(0, 15)),
        Flag(task: "restore", flag: "--ignore-media", since: v(0, 15), until: v(1, 1)),
        Flag(task: "restore", flag: "--ignore-database", since: v(0, 15), until: v(1, 1)),
        Flag(task: "restore", flag: "--skip-media", since: v(1, 1)),
        Flag(task: "restore", flag: "--skip-db", since: v(1, 1)),
        Flag(task: "export-records", flag: "--filename", since: v(0, 12)),
        Flag(task: "export-records", flag: "--overwrite", since: v(0, 12)),
        Flag(task: "export-records", flag: "--delete-temp", since: v(0, 12), until: v(0, 14)),
        Flag(task: "export-records", flag: "--include-permissions", since: v(0, 14)),
        Flag(task: "export-records", flag: "--include-tokens", since: v(0, 14)),
        Flag(task: "export-records", flag: "--exclude-plugins", since: v(0, 14)),
        Flag(task: "export-records", flag: "--include-sso", since: v(0, 14)),
        Flag(task: "export-records", flag: "--include-session", since: v(1, 0)),
        Flag(task: "export-records", flag: "--include-email", since: v(1, 2)),
        Flag(task: "export-records", flag: "--verbose", since: v(1, 3)),
        Flag(task: "import-records", flag: "--filename", since: v(0, 12)),
        Flag(task: "import-records", flag: "--clear", since: v(0, 12)),
        Flag(task: "import-records", flag: "--strict", since: v(1, 3)),
        Flag(task: "import-records", flag: "--exclude-plugins", since: v(1, 3)),
        Flag(task: "import-records", flag: "--ignore-nonexistent", since: v(1, 3)),
        Flag(task: "import-records", flag: "--skip-migrations", since: v(1, 3)),
        Flag(task: "import-records", flag: "--verbose", since: v(1, 3)),
    ]

    public static func flag(_ task: String, _ flag: String) -> Flag? {
        flags.first { $0.task == task && $0.flag == flag }
    }

    /// Whether `version`'s `task` has `flag`. A flag missing from the table is a programming error: false.
    public static func has(_ version: InvenTreeVersion, _ task: String, _ flag: String) -> Bool {
        self.flag(task, flag)?.exists(in: version) ?? false
    }

    /// Refuses a release older than the oldest supported one, naming what upshift was about to do.
    public static func requireSupported(_ version: InvenTreeVersion, for action: String) throws {
        guard version < oldestSupported else { return }
        throw UpshiftError.usage(
            "InvenTree \(version) is older than \(oldestSupported.major).\(oldestSupported.minor), the oldest release upshift can \(action): its invoke tasks lack what upshift relies on (update --skip-backup, export-records/import-records)",
            hint: "update InvenTree by hand to \(oldestSupported.major).\(oldestSupported.minor) or later (its docs: 'Updating InvenTree'), then run upshift again; nothing was changed")
    }

    /// Refuses `invoke restore` of a named file before 0.15.
    public static func requireRestoreByName(_ version: InvenTreeVersion) throws {
        guard version < restoreNamesItsFile else { return }
        throw UpshiftError.usage(
            "InvenTree \(version)'s `invoke restore` takes no options (--db-file arrived in 0.15): it restores whichever backup file is newest by the date in its name, so upshift cannot make it restore the one it took",
            hint: "use --method dump (upshift restores its own verified dump), or update InvenTree to 0.15 or later first; nothing was changed")
    }
}
