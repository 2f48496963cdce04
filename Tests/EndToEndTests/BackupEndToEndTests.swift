import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport

/// `upshift backup` / `upshift restore` on the real test engine: InvenTree's own backup with its file names
/// recorded, then changed data, then `restore --db-file <recorded>` brings the data back exactly (sessions
/// aside: InvenTree's dumps exclude django_session rows); the generic sample gets a tool-level dump.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct BackupEndToEndTests {
    @Test func inventreeBackupChangeRestoreGivesTheBackupsData() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "backup") { d in
            // 0.17.0 ships a PG15 client, like the PG15 server (1.0.0's PG18 pg_restore cannot restore into 15).
            try d.setEnv("INVENTREE_TAG", "0.17.0")
            try await d.up()
            try await InvenTreeE2E.seed(d, ["--megabytes", "1"])
            let backup = try await d.upshift(["backup"])
            #expect(backup.exitCode == 0, "\(backup)")
            // The printed restore line names exactly the file the backup wrote.
            let restoreLine = try #require(backup.stdout.split(whereSeparator: \.isNewline).first { $0.hasPrefix("restore with:") })
            let words = restoreLine.split(separator: " ").map(String.init)
            let dbFile = try #require(words.firstIndex(of: "--db-file").map { words[$0 + 1] })
            #expect(dbFile.hasSuffix(".psql.bin.gz"))
            let onDisk = try Data(contentsOf: d.url("inventree-data/backup/" + dbFile))
            #expect(backup.stdout.contains(SHA256.hex(of: onDisk)))
            let backedUp = try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("django_session=") }

            _ = try await InvenTreeE2E.psql(d, """
                DELETE FROM stock_stockitem WHERE id % 3 = 0;
                UPDATE part_part SET name = 'changed' WHERE id = (SELECT min(id) FROM part_part);
                INSERT INTO common_inventreesetting (key, value) VALUES ('ADDED_AFTER_BACKUP', 'x');
                """)
            #expect(try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("django_session=") } != backedUp)
            // A later backup (as `invoke update` would take) must not be what gets restored.
            try await Task.sleep(for: .seconds(1))
            #expect(try await d.upshift(["backup"]).exitCode == 0)

            let restored = try await d.upshift(["restore", "--db-file", dbFile, "--yes"])
            #expect(restored.exitCode == 0, "\(restored)")
            #expect(restored.stderr.contains("Restoring: \(dbFile)"))
            #expect(try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("django_session=") } == backedUp)
            try await InvenTreeE2E.expectRunning(d, ["inventree-db", "inventree-server", "inventree-worker"])

            let missing = try await d.upshift(["restore", "--db-file", "no-such-file.psql.bin.gz", "--yes"])
            #expect(missing.exitCode == 64, "\(missing)")

            // With 1.0.0's PG18 pg_restore against the PG15 server the restore is refused before anything changes.
            try d.setEnv("INVENTREE_TAG", "1.0.0")
            let newer = try await d.upshift(["restore", "--db-file", dbFile, "--yes"])
            #expect(newer.exitCode == 64, "\(newer)")
            #expect(newer.stderr.contains("pg_restore 18, newer than the PostgreSQL 15 server"))
            #expect(try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("django_session=") } == backedUp)
        }
    }

    @Test func genericBackupIsAToolLevelDumpThatRestores() async throws {
        try await E2EDeployment.with(sample: "generic", namePrefix: "backup-generic") { d in
            try await d.up()
            try await InvenTreeE2E.seed(d, ["--megabytes", "1"])
            let count = { try await d.exec("db", ["psql", "-X", "-At", "-U", "app", "-d", "app", "-c", "SELECT count(*) FROM app_records"]).checked("count").stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            let before = try await count()
            let backup = try await d.upshift(["backup"])
            #expect(backup.exitCode == 0, "\(backup)")
            let dumpPath = try #require(backup.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.contains(".dump ") }?.split(separator: " ").first.map(String.init))
            let attributes = try FileManager.default.attributesOfItem(atPath: dumpPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let sidecar = try String(contentsOfFile: dumpPath + ".sha256", encoding: .utf8)
            #expect(sidecar.hasPrefix(try SHA256.hexOfFile(atPath: dumpPath)))

            _ = try await d.exec("db", ["psql", "-X", "-q", "-U", "app", "-d", "app", "-c", "DELETE FROM app_records WHERE id % 2 = 0"]).checked("delete")
            #expect(try await count() != before)
            let restored = try await d.upshift(["restore", "--db-file", dumpPath, "--yes"])
            #expect(restored.exitCode == 0, "\(restored)")
            #expect(try await count() == before)
        }
    }
}
