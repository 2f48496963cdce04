import Foundation
import Testing
import UpshiftSupport

/// The stand-in `inventree/inventree` image is test equipment: these tests prove it reproduces the InvenTree
/// behaviour (and traps) that upshift's scenarios rely on, on the real test engine (`compose/testenv/up`):
/// the backup taken by `invoke update` is what a bare `invoke restore` picks, `backup`->`restore` round-trips
/// the data exactly, `import-records` into a non-empty database fails without `--clear`, and 0.17.0's PG15
/// `pg_dump` refuses a PostgreSQL 18 server.
///
/// Enabled when `DOCKER_HOST` is set (the test engine with the postgres and inventree fixture images).
@Suite(.serialized, .enabled(if: StandInE2E.engineAvailable))
struct InvenTreeStandInTests {
    @Test func updateTakesABackupThatABareRestoreThenPicks() async throws {
        try await StandInE2E.withInventree(tag: "0.17.0") { project in
            // Without plugin data: 0.17's restore (no --if-exists) would stop at DROP TABLE of the plugin table
            // that `update` on an empty database does not create (InvenTree #8918).
            try await project.seed(megabytes: 1, plugin: false)
            let parts = try await project.scalar("SELECT count(*) FROM part_part")
            #expect(Int(parts) ?? 0 > 500)

            let first = try await project.invoke(["backup"])
            try #require(first.exit == 0, "\(first.output)")
            let dataBackup = try #require(StandInE2E.writtenFile(first.stdout, suffix: ".psql.bin.gz"))
            #expect(dataBackup.hasPrefix("default-"))  // <= 1.0 dbbackup naming: default-<hostname>-<date>

            // The documented PG-upgrade sequence: a new, empty database, then `invoke update`.
            try await project.waitForNextSecond()
            _ = try await project.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            let update = try await project.invoke(["update"])
            try #require(update.exit == 0, "\(update.output)")
            let updateBackup = try #require(StandInE2E.writtenFile(update.stdout, suffix: ".psql.bin.gz"))
            #expect(updateBackup != dataBackup)

            // A bare restore takes the newest file by the date in its name: the empty one update just made.
            let bare = try await project.invoke(["restore"])
            try #require(bare.exit == 0, "\(bare.output)")
            #expect(bare.stdout.contains("Restoring: \(updateBackup)"))
            #expect(try await project.scalar("SELECT count(*) FROM part_part") == "0")

            // Naming the backup explicitly brings the data back.
            let named = try await project.invoke(["restore", "--db-file", dataBackup, "--ignore-media"])
            try #require(named.exit == 0, "\(named.output)")
            #expect(named.stdout.contains("Restoring: \(dataBackup)"))
            #expect(try await project.scalar("SELECT count(*) FROM part_part") == parts)
        }
    }

    @Test func backupThenRestoreRoundTripsDataExactly() async throws {
        try await StandInE2E.withInventree(tag: "0.17.0") { project in
            try await project.seed(megabytes: 2)
            let before = try await project.fingerprint()
            let sessions = try await project.scalar("SELECT count(*) FROM django_session")
            #expect(sessions != "0")
            let image = try await project.scalar("SELECT image FROM part_part WHERE image IS NOT NULL ORDER BY id LIMIT 1")
            let imagePath = project.directory + "/inventree-data/media/" + image
            let imageBytes = try Data(contentsOf: URL(fileURLWithPath: imagePath))

            let backup = try await project.invoke(["backup"])
            try #require(backup.exit == 0, "\(backup.output)")

            _ = try await project.psql("""
                DELETE FROM stock_stockitem WHERE id % 3 = 0;
                UPDATE part_part SET name = 'changed', metadata = '{"x": 1}' WHERE id = (SELECT min(id) FROM part_part);
                INSERT INTO common_inventreesetting (key, value) VALUES ('ADDED_AFTER_BACKUP', 'x');
                DELETE FROM barcodeplus_scanlog WHERE id % 2 = 0;
                """)
            try FileManager.default.removeItem(atPath: imagePath)
            #expect(try await project.fingerprint() != before)

            let restore = try await project.invoke(["restore"])
            try #require(restore.exit == 0, "\(restore.output)")
            #expect(try await project.fingerprint() == before)
            #expect(try Data(contentsOf: URL(fileURLWithPath: imagePath)) == imageBytes)
            // InvenTree's connector excludes django_session data from dumps: sessions do not survive a restore.
            #expect(try await project.scalar("SELECT count(*) FROM django_session") == "0")
        }
    }

    @Test func importIntoANonEmptyDatabaseFailsWithoutClear() async throws {
        try await StandInE2E.withInventree(tag: "1.0.0") { project in
            try await project.seed(megabytes: 1)
            let export = try await project.invoke(["export-records", "--filename", "data/backup/records.json", "--overwrite"])
            try #require(export.exit == 0, "\(export.output)")
            // An existing target without --overwrite and no TTY: the prompt hits EOF, exit 1.
            let again = try await project.invoke(["export-records", "--filename", "data/backup/records.json"])
            #expect(again.exit == 1)
            #expect(again.output.contains("EOFError"))
            let file = project.directory + "/inventree-data/backup/records.json"
            let records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [[String: Any]]
            #expect(records?.contains { $0["model"] as? String == "part.part" } == true)

            // The target changed since the export: one setting was re-created (new id, same unique key).
            _ = try await project.psql("""
                DELETE FROM common_inventreesetting WHERE key = 'BARCODE_ENABLE';
                INSERT INTO common_inventreesetting (key, value) VALUES ('BARCODE_ENABLE', 'False');
                """)
            let settingsBefore = try await project.tableDigest("common_inventreesetting")
            let partsBefore = try await project.tableDigest("part_part")

            let refused = try await project.invoke(["import-records", "--filename", "data/backup/records.json"])
            #expect(refused.exit != 0)
            #expect(refused.output.contains("duplicate key value violates unique constraint \"common_inventreesetting_key_key\""))
            #expect(refused.output.contains("ERROR: InvenTree command failed"))
            #expect(try await project.tableDigest("common_inventreesetting") == settingsBefore)
            #expect(try await project.tableDigest("part_part") == partsBefore)

            let cleared = try await project.invoke(["import-records", "--clear", "--filename", "data/backup/records.json"])
            try #require(cleared.exit == 0, "\(cleared.output)")
            #expect(try await project.scalar("SELECT value FROM common_inventreesetting WHERE key = 'BARCODE_ENABLE'") == "True")
        }
    }

    @Test func plantedDuplicateIPNMakesTheUpdateMigrationFail() async throws {
        try await StandInE2E.withInventree(tag: "0.17.0") { project in
            try await project.seed(megabytes: 1, plugin: false, plantMigrationFailure: true)
            try project.setTag("1.0.0")
            let update = try await project.invoke(["update", "--skip-backup"])
            #expect(update.exit == 1)
            #expect(update.output.contains("could not create unique index \"part_part_IPN_unique\""))
            #expect(update.output.contains("Key (\"IPN\")=(DUPLICATE-IPN) is duplicated."))
            // Django applies each migration atomically: the ones before the failing one stay applied.
            let applied = try await project.psql("SELECT string_agg(app || '.' || name, ' ' ORDER BY id) FROM django_migrations")
            #expect(applied.contains("part.0132_part_revision_of"))
            #expect(!applied.contains("part.0133_part_ipn_unique"))
        }
    }

    @Test func backupWithPostgres15ClientAgainstPostgres18ServerFailsWithVersionMismatch() async throws {
        try await StandInE2E.withInventree(tag: "0.17.0", databaseImage: "postgres:18") { project in
            let migrate = try await project.invoke(["migrate"])
            try #require(migrate.exit == 0, "\(migrate.output)")
            let backup = try await project.invoke(["backup"])
            #expect(backup.exit != 0)
            #expect(backup.output.contains("pg_dump: error: aborting because of server version mismatch"))
            #expect(backup.output.contains("server version: 18"))
            let files = (try? FileManager.default.contentsOfDirectory(atPath: project.directory + "/inventree-data/backup")) ?? []
            #expect(!files.contains { $0.contains(".psql.bin") })
        }
    }
}

/// Helpers for the stand-in tests: a fresh copy of `compose/inventree` per test with a unique project name,
/// commands as argv arrays through `LiveCommandRunner`, teardown in every exit path.
enum StandInE2E {
    static var engineAvailable: Bool { ProcessInfo.processInfo.environment["DOCKER_HOST"] != nil }

    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Output: Sendable {
        var exit: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + "\n" + stderr }
    }

    /// The file name from dbbackup's "Writing file to NAME" line ending in `suffix`.
    static func writtenFile(_ stdout: String, suffix: String) -> String? {
        stdout.split(separator: "\n").map(String.init).compactMap { line -> String? in
            guard let range = line.range(of: "Writing file to ") else { return nil }
            let name = String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            return name.hasSuffix(suffix) ? name : nil
        }.last
    }

    /// `invoke update` starts with pip, which needs a package index; the test engine has no internet, as many
    /// hosts. These tests drive the stand-in's tasks themselves, like a user with a mirror: a `pypi` service (the
    /// stand-in image's Python serving an empty `simple/` index) and `PIP_INDEX_URL` pointing at it. upshift's
    /// own suites run without it (the offline path).
    static func addPackageIndexMirror(_ directory: String) throws {
        let override = """
            services:
              pypi:
                image: inventree/inventree:0.17.0
                entrypoint: ["sh", "-c", "mkdir -p /tmp/index/simple/pip && cd /tmp/index && exec python3 -m http.server 8000"]
              inventree-server:
                depends_on: [pypi]

            """
        try override.write(toFile: directory + "/docker-compose.override.yml", atomically: true, encoding: .utf8)
        let env = directory + "/.env"
        let text = try String(contentsOfFile: env, encoding: .utf8)
        try (text + (text.hasSuffix("\n") ? "" : "\n") + "PIP_INDEX_URL=http://pypi:8000/simple/\n").write(toFile: env, atomically: true, encoding: .utf8)
    }

    static func withInventree(
        tag: String, databaseImage: String? = nil, _ body: (Project) async throws -> Void
    ) async throws {
        let name = "standin" + UUID().uuidString.prefix(8).lowercased()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-e2e-\(name)").path
        let project = Project(directory: directory, name: name)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/compose/inventree", toPath: directory)
        do {
            try project.setTag(tag)
            if let databaseImage {
                var compose = try String(contentsOfFile: directory + "/docker-compose.yml", encoding: .utf8)
                compose = compose.replacingOccurrences(of: "image: postgres:15", with: "image: \(databaseImage)")
                try compose.write(toFile: directory + "/docker-compose.yml", atomically: true, encoding: .utf8)
            }
            try Self.addPackageIndexMirror(directory)
            try await project.compose(["up", "-d", "inventree-db"])
            try await project.waitForDatabase()
            try await body(project)
        } catch {
            await project.tearDown()
            throw error
        }
        await project.tearDown()
    }

    final class Project: Sendable {
        let directory: String
        let name: String
        let runner = LiveCommandRunner()

        init(directory: String, name: String) {
            self.directory = directory
            self.name = name
        }

        func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(300)) async throws -> Output {
            let command = Command(
                executable, arguments, environment: ["COMPOSE_PROJECT_NAME": name], workingDirectory: directory,
                timeout: timeout)
            let result = try await runner.run(command)
            guard case .exited(let code) = result.termination else {
                return Output(exit: -1, stdout: result.stdoutText, stderr: result.stderrText)
            }
            return Output(exit: code, stdout: result.stdoutText, stderr: result.stderrText)
        }

        /// Points INVENTREE_TAG in the project's .env at another stand-in version.
        func setTag(_ tag: String) throws {
            let path = directory + "/.env"
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let edited = lines.map { $0.hasPrefix("INVENTREE_TAG=") ? "INVENTREE_TAG=\(tag)" : String($0) }
            try edited.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }

        func compose(_ arguments: [String]) async throws {
            let output = try await run("docker", ["compose", "--ansi", "never", "-p", name] + arguments)
            guard output.exit == 0 else { throw StandInFailure("docker compose \(arguments.joined(separator: " ")): \(output.output)") }
        }

        /// `docker compose run --rm -T inventree-server invoke ARGS`, as upshift runs InvenTree tasks.
        func invoke(_ arguments: [String]) async throws -> Output {
            try await run("docker", ["compose", "--ansi", "never", "-p", name, "run", "--rm", "-T", "inventree-server", "invoke"] + arguments)
        }

        /// psql inside the database container over its local socket (no password in argv).
        func psql(_ sql: String) async throws -> String {
            let output = try await run("docker", [
                "compose", "--ansi", "never", "-p", name, "exec", "-T", "inventree-db",
                "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", "pguser", "-d", "inventree", "-c", sql,
            ])
            guard output.exit == 0 else { throw StandInFailure("psql failed: \(output.output)") }
            return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func scalar(_ sql: String) async throws -> String { try await psql(sql) }

        func tableDigest(_ table: String) async throws -> String {
            try await psql("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \(table) t")
        }

        /// Every table's rows (except django_session, whose data InvenTree's backups exclude), as digests.
        func fingerprint() async throws -> String {
            let tables = try await psql("""
                SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables
                WHERE schemaname = 'public' AND tablename <> 'django_session'
                """).split(separator: " ").map(String.init)
            let query = tables.map {
                "SELECT '\($0)=' || count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \($0) t"
            }.joined(separator: " UNION ALL ")
            return try await psql(query)
        }

        func seed(megabytes: Int, plugin: Bool = true, plantMigrationFailure: Bool = false) async throws {
            let output = try await run(
                StandInE2E.repositoryRoot + "/compose/seed",
                [directory, "--megabytes", String(megabytes)] + (plugin ? [] : ["--no-plugin"])
                    + (plantMigrationFailure ? ["--plant-migration-failure"] : []))
            guard output.exit == 0 else { throw StandInFailure("seed failed: \(output.output)") }
        }

        /// Polls pg_isready and a real query in the database container until both answer (deadline 120 s).
        func waitForDatabase(timeout: Duration = .seconds(120)) async throws {
            let deadline = ContinuousClock.now + timeout
            var last = ""
            while ContinuousClock.now < deadline {
                let output = try await run("docker", [
                    "compose", "--ansi", "never", "-p", name, "exec", "-T", "inventree-db",
                    "psql", "-X", "-At", "-U", "pguser", "-d", "inventree", "-c", "SELECT 1",
                ], timeout: .seconds(30))
                if output.exit == 0 && output.stdout.contains("1") { return }
                last = output.output
                try await Task.sleep(for: .milliseconds(250))
            }
            throw StandInFailure("database not ready after \(timeout): \(last)")
        }

        /// dbbackup names files by the second: wait until the wall clock has moved to the next one.
        func waitForNextSecond() async throws {
            let start = Int(Date().timeIntervalSince1970)
            while Int(Date().timeIntervalSince1970) == start { try await Task.sleep(for: .milliseconds(50)) }
        }

        func tearDown() async {
            _ = try? await run("docker", ["compose", "--ansi", "never", "-p", name, "down", "-v", "-t", "1", "--remove-orphans"])
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

struct StandInFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
