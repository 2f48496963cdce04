import Foundation
import UpshiftPlans
import UpshiftSupport

/// The serving cluster's schema without data (`pg_dump --schema-only`): one file per database that the
/// logical replica is built on, and a digest per database that, taken again in the window, proves no DDL ran
/// since — logical replication carries rows, never schema changes.
struct SchemaCopy: Sendable {
    var world: PgUpgradeWorld

    /// `<dump dir>/schema` (0700): the replica's schema and a copy of the online globals.
    var directory: String { DumpClusterStep.directory(world) + "/schema" }

    /// Dumps every database's schema into `dir` as `db-N.sql` (with `--create` except `postgres`, as the
    /// dump method does), with the target image's `pg_dump`, for the replica to be built on.
    func dump(_ databases: [String], into dir: String, context: StepContext) async throws -> [DumpManifest.File] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let dumper = DumpClusterStep(world: world)
        var files: [DumpManifest.File] = []
        for (index, name) in databases.enumerated() {
            let file = "db-\(index + 1).sql"
            var argv = ["pg_dump", "-U", world.database.superuser, "--schema-only"]
            if name != "postgres" { argv.append("--create") }
            argv += ["-d", ConnInfo.dbname(name)]
            let written = try await dumper.dump(argv, to: dir + "/" + file, trailer: "PostgreSQL database dump complete", context: context)
            files.append(DumpManifest.File(database: name, name: file, bytes: written.bytes, sha256: written.sha256))
        }
        return files
    }

    /// Each database's schema digest, from `pg_dump --schema-only` run by the serving container's own binaries
    /// (`docker exec`: no container to start while the window waits), every database at once. The same
    /// command before the replica is built and in the window, so the two digests compare like for like.
    func digests(_ databases: [String]) async throws -> [String: String] {
        let world = world
        let ignoring = SubscriberServer.objectName(world.context.runID)
        let container = try await DumpClusterStep(world: world).container()
        let environment = world.database.passwordEnvironment
        return try await withThrowingTaskGroup(of: (String, String).self) { group in
            for name in databases {
                group.addTask {
                    let argv = ["pg_dump", "-U", world.database.superuser, "--schema-only", "-d", ConnInfo.dbname(name)]
                    let command = Command("docker", ["exec"] + environment.keys.sorted().flatMap { ["-e", $0] } + [container] + argv, environment: environment, timeout: .seconds(1800))
                    let result = try await world.runner.run(command)
                    guard result.termination.isSuccess else {
                        throw UpshiftError("pg_dump --schema-only of \(name) failed (\(result.termination)): \(world.redactor.redact(String(result.stderrText.suffix(600))))")
                    }
                    return (name, Self.digest(result.stdoutText, ignoring: ignoring))
                }
            }
            var out: [String: String] = [:]
            for try await (name, digest) in group { out[name] = digest }
            return out
        }
    }

    /// The databases whose schema differs now from `digests`.
    func changed(since digests: [String: String]) async throws -> [String] {
        let now = try await self.digests(digests.keys.sorted())
        return digests.keys.sorted().filter { now[$0] != digests[$0] }
    }

    /// SHA-256 of a schema dump's statements: comments and blank lines, pg_dump's per-run `\restrict` key
    /// lines (random in every dump since the 2025 releases) and lines naming `ignoring` (the run's own
    /// publications, created after the first dump) are left out, so two dumps of one schema digest alike.
    static func digest(_ text: String, ignoring: String) -> String {
        let kept = text.split(separator: "\n", omittingEmptySubsequences: true).filter { line in
            !line.hasPrefix("--") && !line.hasPrefix("\\restrict ") && !line.hasPrefix("\\unrestrict ")
                && !line.allSatisfy(\.isWhitespace) && (ignoring.isEmpty || !line.contains(ignoring))
        }
        return SHA256.hex(of: kept.joined(separator: "\n"))
    }
}
