import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What `transfer` checked before changing anything.
public struct TransferContext: Sendable {
    public var runID: RunID
    public var source: InvenTreeEndpoint
    public var target: InvenTreeEndpoint
    public var version: InvenTreeVersion
    public var includeMedia: Bool
    public var exportOptions: ExportRecordsOptions
    public var targetRunningAppServices: [String]
    public var targetUserData: [String: Int]
    public var plugins: [String]
    public var warnings: [String]

    /// The import half, before the export exists: counts are filled in by the steps from the real file.
    public func importContext(file: RecordsFile, path: String) -> RecordsImportContext {
        RecordsImportContext(
            runID: runID, target: target, version: version, sourcePath: path, file: file, options: ImportRecordsOptions(clear: true),
            runningAppServices: targetRunningAppServices, userData: targetUserData, warnings: [])
    }
}

/// The checks of `transfer` (seed: "Migrating Data to a Different Database"), none of which changes
/// anything: two different InvenTree deployments, both up, running the same InvenTree version (asked with
/// `invoke version`, not read from tags), with the same plugins (`plugins.txt`, plugins enabled on both).
public struct TransferPreflight: Sendable {
    public var source: InvenTreeEndpoint
    public var target: InvenTreeEndpoint
    public var includeMedia: Bool
    public var runID: RunID
    public var progress: @Sendable (String) -> Void

    public init(source: InvenTreeEndpoint, target: InvenTreeEndpoint, includeMedia: Bool, runID: RunID, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.source = source
        self.target = target
        self.includeMedia = includeMedia
        self.runID = runID
        self.progress = progress
    }

    /// Container names both projects set, or `nil`.
    static func sharedContainerNames(_ a: ComposeConfig, _ b: ComposeConfig) -> [String]? {
        let names = Set(a.services.values.compactMap(\.containerName)).intersection(b.services.values.compactMap(\.containerName))
        return names.isEmpty ? nil : names.sorted()
    }

    public func run() async throws -> TransferContext {
        let sameDirectory = URL(fileURLWithPath: source.directory).standardizedFileURL.resolvingSymlinksInPath().path
            == URL(fileURLWithPath: target.directory).standardizedFileURL.resolvingSymlinksInPath().path
        if sameDirectory || source.project.name == target.project.name {
            throw UpshiftError.usage("source and target are the same project (\(source.project.name) in \(source.directory))",
                                     hint: "--to names the other installation's compose directory")
        }
        if let clash = Self.sharedContainerNames(source.project.config, target.project.config) {
            throw UpshiftError.usage(
                "source and target both name their containers \(clash.joined(separator: ", ")) (container_name, as upstream's InvenTree compose file does): Docker runs only one container per name, so the two installations cannot be up side by side for the transfer",
                hint: "give the target other names (edit or delete its container_name lines, e.g. inventree-new-db), start it with docker compose up -d, then run transfer again; nothing was changed")
        }
        if let a = source.hostDataDirectory, let b = target.hostDataDirectory,
           URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path {
            throw UpshiftError.usage("source and target share the data directory \(a); a transfer would overwrite the source")
        }
        _ = try await source.requireUp(role: "source")
        let targetRunning = try await target.requireUp(role: "target")

        progress("asking both servers for their version (invoke version)")
        async let sourceVersion = source.version()
        async let targetVersion = target.version()
        let (sv, tv) = try await (sourceVersion, targetVersion)
        try InvenTreeReleases.requireSupported(sv, for: "transfer records from")
        guard sv == tv else {
            throw UpshiftError.usage(
                "the source \(source.project.name) runs InvenTree \(sv) but the target \(target.project.name) runs InvenTree \(tv); export and import must run the same version",
                hint: "update one side (upshift update --to …) first; nothing was changed")
        }

        progress("comparing plugins.txt of both sides")
        async let sourcePlugins = source.pluginFile()
        async let targetPlugins = target.pluginFile()
        let (sp, tp) = try await (sourcePlugins, targetPlugins)
        let sourceReqs = InvenTreeEndpoint.pluginRequirements(sp), targetReqs = InvenTreeEndpoint.pluginRequirements(tp)
        guard sourceReqs == targetReqs else {
            let onlySource = Set(sourceReqs).subtracting(targetReqs).sorted(), onlyTarget = Set(targetReqs).subtracting(sourceReqs).sorted()
            throw UpshiftError.usage(
                "plugins.txt differs: only on the source: \(onlySource.isEmpty ? "-" : onlySource.joined(separator: ", ")); only on the target: \(onlyTarget.isEmpty ? "-" : onlyTarget.joined(separator: ", "))",
                hint: "install the same plugins (same versions) on the target, restart it, then transfer; nothing was changed")
        }
        if !sourceReqs.isEmpty && source.pluginsEnabled != target.pluginsEnabled {
            throw UpshiftError.usage("INVENTREE_PLUGINS_ENABLED is \(source.pluginsEnabled) on the source but \(target.pluginsEnabled) on the target; plugin records would not load",
                                     hint: "set the same value on the target and restart it; nothing was changed")
        }
        // Whether the plugin apps exist on the target is proven after the import: their rows are counted
        // (a plugin registers itself only when the server starts on a migrated database, so a fresh target
        // cannot show it yet).
        if includeMedia {
            try await MediaRootGuard.check(source: source, target: target, progress: progress)
            progress("checking the source's media tree for links that leave it")
            let escaping = MediaTree.escapingLinks(try await MediaTree(endpoint: source).links())
            guard escaping.isEmpty else {
                throw UpshiftError.usage(
                    "the source's media tree has symbolic links pointing outside it: " + escaping.prefix(5).map { "\($0.link) -> \($0.target)" }.joined(separator: ", ")
                        + (escaping.count > 5 ? " (and \(escaping.count - 5) more)" : ""),
                    hint: "replace them with the files they point to (copied as links they would point elsewhere on the target); nothing was changed")
            }
        }

        var warnings: [String] = []
        let userData = try await target.userData()
        if !userData.isEmpty {
            warnings.append("the target already holds data (\(userData.keys.sorted().map { "\($0)=\(userData[$0]!)" }.joined(separator: ", "))); it is replaced (import --clear), upshift's pg_dump keeps it")
        }
        return TransferContext(
            runID: runID, source: source, target: target, version: sv, includeMedia: includeMedia, exportOptions: ExportRecordsOptions(),
            targetRunningAppServices: target.appServices.filter { targetRunning.contains($0) }, targetUserData: userData,
            plugins: sourceReqs, warnings: warnings)
    }
}
