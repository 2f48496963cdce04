import UpshiftSupport

/// The options of `invoke export-records`, as the user chose them. Every option of the seed's task is here;
/// which of them the running InvenTree accepts is decided by `RecordsFlags` (reference §3.1).
public struct ExportRecordsOptions: Sendable, Hashable, Codable {
    public var includeTokens = false
    public var excludePlugins = false
    public var includeEmail = false
    public var includeSSO = false
    public var includePermissions = false
    public var includeSession = false
    public var verbose = false

    public init(includeTokens: Bool = false, excludePlugins: Bool = false, includeEmail: Bool = false, includeSSO: Bool = false,
                includePermissions: Bool = false, includeSession: Bool = false, verbose: Bool = false) {
        self.includeTokens = includeTokens
        self.excludePlugins = excludePlugins
        self.includeEmail = includeEmail
        self.includeSSO = includeSSO
        self.includePermissions = includePermissions
        self.includeSession = includeSession
        self.verbose = verbose
    }
}

/// The options of `invoke import-records` (reference §3.2). `--filename` is upshift's to choose.
public struct ImportRecordsOptions: Sendable, Hashable, Codable {
    public var clear = false
    public var excludePlugins = false
    public var ignoreNonexistent = false
    public var skipMigrations = false
    public var strict = false
    public var verbose = false

    public init(clear: Bool = false, excludePlugins: Bool = false, ignoreNonexistent: Bool = false, skipMigrations: Bool = false,
                strict: Bool = false, verbose: Bool = false) {
        self.clear = clear
        self.excludePlugins = excludePlugins
        self.ignoreNonexistent = ignoreNonexistent
        self.skipMigrations = skipMigrations
        self.strict = strict
        self.verbose = verbose
    }
}

/// Long flags of export-records / import-records for one InvenTree version. Short flags moved between
/// releases (`-c` was `--include-sso` up to 1.2 and is `--include-tokens` from 1.3), so only long flags are
/// produced, and an option the version does not have is refused by name before anything runs, instead of
/// letting invoke print `No idea what '…' is!` half-way through a run.
public struct RecordsFlags: Sendable, Hashable {
    public var version: InvenTreeVersion

    public init(version: InvenTreeVersion) { self.version = version }

    /// 1.3 added the metadata header, `--include-email`, `--verbose` and the staged, validated import.
    public var hasMetadataHeader: Bool { version.atLeast(1, 3) }

    /// Up to 1.2 import-records ran no migration and loaded plugin rows in the same step as everything else,
    /// so plugin rows were silently dropped unless the plugin was already active (InvenTree #11235).
    public var importStagesPlugins: Bool { version.atLeast(1, 3) }

    /// `export-records --filename PATH --overwrite …`. `--overwrite` is always passed: without a terminal the
    /// task's "overwrite? [y/N]" prompt dies with EOFError (upshift checks the host file itself). Before 0.14
    /// `--delete-temp` too, or the task leaves `<file>.tmp` beside the export.
    public func exportArguments(filename: String, options: ExportRecordsOptions) throws -> [String] {
        var args = ["export-records", "--filename", filename, "--overwrite"]
        if InvenTreeReleases.has(version, "export-records", "--delete-temp") { args.append("--delete-temp") }
        if options.includePermissions, InvenTreeReleases.emptyPermissionsExport.contains(version) {
            throw UpshiftError.usage(
                "InvenTree \(version)'s export-records --include-permissions writes an empty export ([]): a bug of 0.14 to 0.17 fixed in 1.0 (InvenTree #9704); the import would then have nothing to load",
                hint: "export without --include-permissions (group permissions are then not carried over: set them again on the target), or update InvenTree to 1.0 or later first")
        }
        let chosen: [(Bool, String)] = [
            (options.includeEmail, "--include-email"), (options.includePermissions, "--include-permissions"),
            (options.includeTokens, "--include-tokens"), (options.excludePlugins, "--exclude-plugins"),
            (options.includeSSO, "--include-sso"), (options.includeSession, "--include-session"), (options.verbose, "--verbose"),
        ]
        for (on, flag) in chosen where on {
            args.append(try Self.checked(version, "export-records", flag))
        }
        return args
    }

    /// `import-records --filename PATH …`.
    public func importArguments(filename: String, options: ImportRecordsOptions) throws -> [String] {
        var args = ["import-records", "--filename", filename]
        if options.clear { args.append("--clear") }
        let newer: [(Bool, String)] = [
            (options.strict, "--strict"), (options.excludePlugins, "--exclude-plugins"),
            (options.ignoreNonexistent, "--ignore-nonexistent"), (options.skipMigrations, "--skip-migrations"),
            (options.verbose, "--verbose"),
        ]
        for (on, flag) in newer where on {
            args.append(try Self.checked(version, "import-records", flag))
        }
        return args
    }

    /// `flag` when `version`'s `task` has it (`InvenTreeReleases`); a usage error naming where it exists otherwise.
    static func checked(_ version: InvenTreeVersion, _ task: String, _ flag: String) throws -> String {
        guard let entry = InvenTreeReleases.flag(task, flag), !entry.exists(in: version) else { return flag }
        throw UpshiftError.usage("InvenTree \(version) has no \(task) \(flag) (it exists \(entry.range))",
                                 hint: hint(flag, task: task, version: version))
    }

    static func hint(_ flag: String, task: String, version: InvenTreeVersion) -> String {
        switch flag {
        case "--include-email":
            return version.atLeast(1, 0)
                ? "InvenTree 1.0 and 1.1 always export the email log; drop the option"
                : "InvenTree before 1.0 has no email log; drop the option"
        case "--verbose": return "drop --verbose; upshift prints the task's output on failure anyway"
        case "--include-session": return "before 1.0 sessions are always left out; drop the option"
        case "--ignore-nonexistent": return "up to 1.2 the data step always ignores unknown models and fields"
        case "--skip-migrations": return "up to 1.2 import-records runs no migrations"
        case _ where task == "export-records" && ["--include-tokens", "--include-sso", "--include-permissions", "--exclude-plugins"].contains(flag):
            return "before 0.14 export-records has none of the include/exclude options; drop it, or update InvenTree to 0.14 or later first"
        default:
            let accepted = InvenTreeReleases.flags.filter { $0.task == task && $0.exists(in: version) && $0.flag != "--filename" }.map(\.flag)
            return "InvenTree \(version)'s \(task) accepts: " + accepted.joined(separator: " ")
        }
    }
}
