import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// What `import` (and the import half of `transfer`) learned before touching the target.
public struct RecordsImportContext: Sendable {
    public var runID: RunID
    public var target: InvenTreeEndpoint
    public var version: InvenTreeVersion
    /// The file as given by the user (for messages).
    public var sourcePath: String
    /// The UTF-8 file that is copied in (the original, or its `--convert-from` re-encoding in the run folder).
    public var file: RecordsFile
    public var options: ImportRecordsOptions
    /// Application services running before (stopped during the import, started again after).
    public var runningAppServices: [String]
    /// Core tables with rows before the import (replaced when `--clear`).
    public var userData: [String: Int]
    public var warnings: [String]
    public var readyTimeout: Int = 180

    public var flags: RecordsFlags { RecordsFlags(version: version) }
    /// Where the file is put inside the target's data volume for the task to read.
    public var containerPath: String { InvenTreeEndpoint.backupDirectory + "/upshift-import-\(runID.rawValue).json" }
    public var dumpPath: String { target.dumpPath(runID: runID) }

    /// Up to 1.2 a plugin's rows are dropped by import-records (the plugin's app is not loaded while they are
    /// read); upshift then imports them in a second pass after a migrate has created the plugin's tables.
    public var stagesPluginsItself: Bool { !flags.importStagesPlugins && !file.pluginModels.isEmpty && !options.excludePlugins }

    /// Models whose rows the target must hold afterwards, with the file's counts.
    public var expectedCounts: [String: Int] {
        file.counts.filter { label, _ in
            if options.excludePlugins && (RecordsFile.app(of: label) == "plugin" || !RecordsFile.coreApps.contains(RecordsFile.app(of: label))) { return false }
            return true
        }
    }
}

/// Checks an export file against a target, changing nothing: the file is UTF-8 JSON of records, was written
/// by the same InvenTree version (when its header says), its plugin apps exist on the target, and the target
/// is empty unless `--clear` replaces its data.
public struct RecordsImportPreflight: Sendable {
    public var target: InvenTreeEndpoint
    public var path: String
    public var convertFrom: String.Encoding?
    public var options: ImportRecordsOptions
    public var runID: RunID
    /// The version the file must have been written by, when the caller knows it (transfer: the source's).
    public var expectedSourceVersion: InvenTreeVersion?
    public var requireEmptyUnlessClear = true
    public var progress: @Sendable (String) -> Void

    public init(target: InvenTreeEndpoint, path: String, convertFrom: String.Encoding? = nil, options: ImportRecordsOptions, runID: RunID,
                expectedSourceVersion: InvenTreeVersion? = nil, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.target = target
        self.path = path
        self.convertFrom = convertFrom
        self.options = options
        self.runID = runID
        self.expectedSourceVersion = expectedSourceVersion
        self.progress = progress
    }

    /// Reads the file alone (no target needed): UTF-8, JSON, counts.
    public static func readFile(_ path: String, convertFrom: String.Encoding?) throws -> (RecordsFile, Data) {
        guard FileManager.default.fileExists(atPath: path) else { throw UpshiftError.usage("\(path) does not exist") }
        return try RecordsFile.read(path: path, convertFrom: convertFrom)
    }

    public func run() async throws -> (context: RecordsImportContext, data: Data) {
        progress("reading \(path)")
        let (file, data) = try Self.readFile(path, convertFrom: convertFrom)
        guard file.totalRecords > 0 else { throw UpshiftError.usage("\(path) holds no records") }
        var warnings: [String] = []
        if file.invalidEntries > 0 { warnings.append("\(file.invalidEntries) entries without a \"model\" key will be skipped by InvenTree") }

        let running = try await target.requireUp(role: "target")
        progress("asking \(target.project.name)/\(target.server) for its version (invoke version)")
        let version = try await target.version()
        try InvenTreeReleases.requireSupported(version, for: "import records into")
        let flags = RecordsFlags(version: version)
        _ = try flags.importArguments(filename: "x", options: options)   // options the version lacks: refused now

        // Same InvenTree version on both sides (reference §7.1: "crucial").
        if let source = file.sourceVersion {
            guard source == version else {
                throw UpshiftError.usage(
                    "\(path) was exported by InvenTree \(file.metadata?.sourceVersion ?? "\(source)") but the target runs InvenTree \(version); export and import must run the same version",
                    hint: "update one side (upshift update --to …) so both run the same release, export again, then import; nothing was changed")
            }
        } else if let expected = expectedSourceVersion, expected != version {
            throw UpshiftError.usage("the source runs InvenTree \(expected) but the target runs InvenTree \(version); both must run the same version",
                                     hint: "update one side first; nothing was changed")
        } else if expectedSourceVersion == nil {
            warnings.append("\(URL(fileURLWithPath: path).lastPathComponent) has no metadata header (written by InvenTree < 1.3): its source version cannot be checked; make sure it was exported by InvenTree \(version)")
        }

        // Plugin apps the file needs must exist on the target.
        if !options.excludePlugins {
            let needed = Set(file.pluginModels.map(RecordsFile.app(of:)))
                .union((file.metadata?.installedApps ?? []).filter { !$0.contains(".") && !RecordsFile.coreApps.contains($0) })
            if !needed.isEmpty {
                if !target.pluginsEnabled && !options.ignoreNonexistent {
                    throw UpshiftError.usage(
                        "the file holds records of plugin app(s) \(needed.sorted().joined(separator: ", ")) but plugins are not enabled on the target \(target.project.name) (INVENTREE_PLUGINS_ENABLED)",
                        hint: "install the same plugins on the target (plugins.txt, INVENTREE_PLUGINS_ENABLED=True, restart), or leave their records out with --exclude-plugins; nothing was changed")
                }
                let keys = try await target.pluginKeys()
                let tables = try await target.tableNames()
                let unseen = needed.filter { app in !keys.contains(app) && !tables.contains { $0.hasPrefix(app + "_") } }.sorted()
                if !unseen.isEmpty {
                    warnings.append("the target has not registered plugin app(s) \(unseen.joined(separator: ", ")) yet (they must be installed: same plugins.txt); their rows are counted after the import and a shortfall rolls it back")
                }
            }
        }

        // An import into a database that holds data fails half-way (duplicate keys) unless --clear.
        progress("counting rows of core tables in \(target.project.name)/\(target.database.service)")
        let userData = try await target.userData()
        if !userData.isEmpty && !options.clear && requireEmptyUnlessClear {
            let list = userData.keys.sorted().map { "\($0)=\(userData[$0]!)" }.joined(separator: ", ")
            throw UpshiftError.usage(
                "the target database \(target.database.database) of \(target.project.name) is not empty (\(list)); importing into it fails half-way with duplicate keys",
                hint: "add --clear to replace its data (upshift takes a pg_dump first and restores it if the import fails); nothing was changed")
        }
        if !userData.isEmpty && options.clear {
            warnings.append("--clear: the target's data (\(userData.values.reduce(0, +)) rows in core tables) is replaced; upshift's pg_dump keeps it")
        }
        let appRunning = target.appServices.filter { running.contains($0) }
        let context = RecordsImportContext(
            runID: runID, target: target, version: version, sourcePath: path, file: file, options: options,
            runningAppServices: appRunning, userData: userData, warnings: warnings)
        return (context, data)
    }
}
