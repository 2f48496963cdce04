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
    /// task's "overwrite? [y/N]" prompt dies with EOFError (upshift checks the host file itself).
    public func exportArguments(filename: String, options: ExportRecordsOptions) throws -> [String] {
        var args = ["export-records", "--filename", filename, "--overwrite"]
        func add(_ on: Bool, _ flag: String, since: InvenTreeVersion?) throws {
            guard on else { return }
            if let since, version < since {
                throw UpshiftError.usage("InvenTree \(version) has no export-records \(flag) (added in \(since.major).\(since.minor))",
                                         hint: Self.hint(flag, version: version))
            }
            args.append(flag)
        }
        try add(options.includeEmail, "--include-email", since: InvenTreeVersion(1, 3))
        try add(options.includePermissions, "--include-permissions", since: nil)
        try add(options.includeTokens, "--include-tokens", since: nil)
        try add(options.excludePlugins, "--exclude-plugins", since: nil)
        try add(options.includeSSO, "--include-sso", since: nil)
        try add(options.includeSession, "--include-session", since: InvenTreeVersion(1, 0))
        try add(options.verbose, "--verbose", since: InvenTreeVersion(1, 3))
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
            guard version.atLeast(1, 3) else {
                throw UpshiftError.usage("InvenTree \(version) has no import-records \(flag) (added in 1.3)", hint: Self.hint(flag, version: version))
            }
            args.append(flag)
        }
        return args
    }

    static func hint(_ flag: String, version: InvenTreeVersion) -> String {
        switch flag {
        case "--include-email": return "up to 1.2 export-records always includes the email log; drop the option"
        case "--verbose": return "drop --verbose; upshift prints the task's output on failure anyway"
        case "--include-session": return "0.17 always leaves sessions out"
        case "--ignore-nonexistent": return "up to 1.2 the data step always ignores unknown models and fields"
        case "--skip-migrations": return "up to 1.2 import-records runs no migrations"
        default: return "InvenTree \(version) accepts: " + (version.atLeast(1, 3) ? "" : "--clear only")
        }
    }
}
