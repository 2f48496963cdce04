import Foundation
import UpshiftPlans
import UpshiftSupport

/// The serving cluster's schema without data (`pg_dump --schema-only`, one file per database): what the
/// logical replica is built on, and, dumped again in the window, the proof that no DDL ran since — logical
/// replication carries rows, never schema changes.
struct SchemaCopy: Sendable {
    var world: PgUpgradeWorld

    /// `<dump dir>/schema` (0700): the replica's schema and a copy of the online globals.
    var directory: String { DumpClusterStep.directory(world) + "/schema" }

    /// Dumps every database's schema into `dir` as `db-N.sql` (with `--create` except `postgres`, as the
    /// dump method does); returns the manifest's files and each database's `digest`.
    func dump(_ databases: [String], into dir: String, context: StepContext) async throws -> (files: [DumpManifest.File], digests: [String: String]) {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let dumper = DumpClusterStep(world: world)
        var files: [DumpManifest.File] = []
        var digests: [String: String] = [:]
        for (index, name) in databases.enumerated() {
            let file = "db-\(index + 1).sql"
            var argv = ["pg_dump", "-U", world.database.superuser, "--schema-only"]
            if name != "postgres" { argv.append("--create") }
            argv += ["-d", ConnInfo.dbname(name)]
            let written = try await dumper.dump(argv, to: dir + "/" + file, trailer: "PostgreSQL database dump complete", context: context)
            files.append(DumpManifest.File(database: name, name: file, bytes: written.bytes, sha256: written.sha256))
            digests[name] = try Self.digest(ofFile: dir + "/" + file, ignoring: SubscriberServer.objectName(world.context.runID))
        }
        return (files, digests)
    }

    /// The databases whose schema differs now from `digests` (dumped again into a scratch folder, deleted).
    /// - Parameter ignoring: the run's own publication name: lines naming it are left out of the digest.
    func changed(since digests: [String: String], ignoring: String, context: StepContext) async throws -> [String] {
        let scratch = directory + "-window"
        try? FileManager.default.removeItem(atPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let names = digests.keys.sorted()
        _ = try await dump(names, into: scratch, context: context)
        var changed: [String] = []
        for (index, name) in names.enumerated() {
            let text = try String(contentsOfFile: scratch + "/db-\(index + 1).sql", encoding: .utf8)
            if Self.digest(text, ignoring: ignoring) != digests[name] { changed.append(name) }
        }
        return changed
    }

    /// SHA-256 of a schema dump's statements: comments and blank lines, pg_dump's per-run `\restrict` key
    /// lines (random in every dump since the 2025 releases) and lines naming `ignoring` (the run's own
    /// publications, created after the first dump) are left out, so two dumps of one schema digest alike.
    static func digest(ofFile path: String, ignoring: String) throws -> String {
        digest(try String(contentsOfFile: path, encoding: .utf8), ignoring: ignoring)
    }

    static func digest(_ text: String, ignoring: String) -> String {
        let kept = text.split(separator: "\n", omittingEmptySubsequences: true).filter { line in
            !line.hasPrefix("--") && !line.hasPrefix("\\restrict ") && !line.hasPrefix("\\unrestrict ")
                && !line.allSatisfy(\.isWhitespace) && (ignoring.isEmpty || !line.contains(ignoring))
        }
        return SHA256.hex(of: kept.joined(separator: "\n"))
    }
}
