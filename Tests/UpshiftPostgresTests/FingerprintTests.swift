import Foundation
import Testing
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport

/// Fingerprints of real clusters: stable, sensitive to one changed row, equal across a 15 -> 16/18 dump/restore.
@Suite(.serialized)
struct FingerprintTests {
    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func capturesDataRolesAndSequences15() async throws { try await capturesDataRolesAndSequences(major: 15) }

    @Test(.enabled(if: LocalPostgres.isAvailable(16), Comment(rawValue: LocalPostgres.unavailableReason(16))))
    func capturesDataRolesAndSequences16() async throws { try await capturesDataRolesAndSequences(major: 16) }

    @Test(.enabled(if: LocalPostgres.isAvailable(18), Comment(rawValue: LocalPostgres.unavailableReason(18))))
    func capturesDataRolesAndSequences18() async throws { try await capturesDataRolesAndSequences(major: 18) }

    func capturesDataRolesAndSequences(major: Int) async throws {
        try await LocalPostgres.with(major: major) { pg in
            try PostgresFixtures.populate(pg.parameters())
            let first = try Fingerprinter.capture(pg.parameters())
            let again = try Fingerprinter.capture(pg.parameters())
            #expect(first == again)
            #expect(first.diff(against: again).isEmpty)
            #expect(first.serverMajor == major)
            #expect(first.databases.map(\.name) == ["appdb", "postgres"])
            let app = try #require(first.databases.first { $0.name == "appdb" })
            #expect(app.encoding == "UTF8")
            let tables = Dictionary(uniqueKeysWithValues: app.tables.map { ($0.qualifiedName, $0) })
            #expect(tables["public.items"]?.rowCount == 2000)
            #expect(tables["odd \"schema\".empty"]?.rowCount == 0)
            #expect(tables["odd \"schema\".empty"]?.checksum == "0")
            #expect(tables["odd \"schema\".dups"]?.rowCount == 5)
            #expect(tables["public.parted_low"]?.rowCount == 100)
            #expect(tables["public.parted_high"]?.rowCount == 900)
            #expect(tables["public.parted"] == nil)  // the partitioned parent is not counted twice
            let seqs = Dictionary(uniqueKeysWithValues: app.sequences.map { ($0.qualifiedName, $0.lastValue) })
            #expect(seqs["public.used_seq"] == .some(101))
            #expect(seqs["public.unused_seq"] == .some(nil))
            #expect(seqs["public.items_id_seq"] == .some(2000))
            let roles = Dictionary(uniqueKeysWithValues: first.roles.map { ($0.name, $0) })
            #expect(roles["app_scram"]?.passwordKind == .scram)
            #expect(roles["app_md5"]?.passwordKind == .md5)
            #expect(roles["app_nologin"]?.passwordKind == PasswordKind.none)
            #expect(roles["app_nologin"]?.canLogin == false)
            #expect(roles["postgres"]?.superuser == true)
            #expect(!first.roles.contains { $0.name.hasPrefix("pg_") })
            // Codable round trip; the JSON holds no password hash.
            let json = try JSONEncoder().encode(first)
            #expect(try JSONDecoder().decode(Fingerprint.self, from: json) == first)
            let text = String(decoding: json, as: UTF8.self)
            #expect(!text.contains("SCRAM-SHA-256$"))
            #expect(text.range(of: "md5[0-9a-f]{32}", options: .regularExpression) == nil)
        }
    }

    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func oneChangedRowIsReported() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            try PostgresFixtures.populate(pg.parameters())
            let before = try Fingerprinter.capture(pg.parameters())
            let app = try Connection(pg.parameters(database: "appdb"))
            // Same row count, one value changed.
            try app.execute("UPDATE items SET note = note || '!' WHERE id = 1234")
            let changed = try Fingerprinter.capture(pg.parameters())
            let diff = before.diff(against: changed)
            #expect(diff.count == 1)
            #expect(diff.first?.hasPrefix("database appdb: table public.items: content differs (same 2000 rows") == true)
            // Order independence: rewriting the table in another physical order changes nothing.
            try app.execute("UPDATE items SET note = left(note, -1) WHERE id = 1234; CLUSTER items USING items_pkey; CREATE TABLE items2 AS SELECT * FROM items ORDER BY random(); DROP TABLE items CASCADE; ALTER TABLE items2 RENAME TO items")
            let reordered = try Fingerprinter.capture(pg.parameters())
            let items = { (f: Fingerprint) in f.databases.first { $0.name == "appdb" }?.tables.first { $0.name == "items" } }
            #expect(items(reordered) == items(before))
            // A deleted row, a dropped table, a new role.
            try app.execute("DELETE FROM \"odd \"\"schema\"\"\".dups WHERE ctid = (SELECT min(ctid) FROM \"odd \"\"schema\"\"\".dups); DROP TABLE parted_high; CREATE ROLE newcomer")
            let lines = before.diff(against: try Fingerprinter.capture(pg.parameters()))
            #expect(lines.contains("database appdb: table odd \"schema\".dups: rows 5 -> 4"))
            #expect(lines.contains("database appdb: table public.parted_high: missing after"))
            #expect(lines.contains("role newcomer: only after"))
            #expect(lines.contains("database appdb: sequence public.items_id_seq: last value 2000 -> 2000") == false)
        }
    }

    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))),
          .enabled(if: LocalPostgres.isAvailable(18), Comment(rawValue: LocalPostgres.unavailableReason(18))))
    func dumpAllFrom15Into18KeepsTheFingerprint() async throws { try await dumpAllFrom15KeepsTheFingerprint(target: 18) }

    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))),
          .enabled(if: LocalPostgres.isAvailable(16), Comment(rawValue: LocalPostgres.unavailableReason(16))))
    func dumpAllFrom15Into16KeepsTheFingerprint() async throws { try await dumpAllFrom15KeepsTheFingerprint(target: 16) }

    func dumpAllFrom15KeepsTheFingerprint(target: Int) async throws {
        let extensions = target == 18 ? ["hstore"] : []  // the PG16 wheel ships no contrib modules
        try await LocalPostgres.with(major: 15) { old in
            try PostgresFixtures.populate(old.parameters(), extensions: extensions)
            let before = try Fingerprinter.capture(old.parameters())
            // Same superuser password on both sides, as in a compose deployment: the restore replaces the
            // new cluster's postgres password hash with the dumped one.
            try await LocalPostgres.with(major: target, password: old.password) { new in
                let runner = LiveCommandRunner()
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-dumpall-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: dir) }
                let dumpPath = dir.appendingPathComponent("all.sql").path
                #expect(FileManager.default.createFile(atPath: dumpPath, contents: nil))
                let dump = try #require(FileHandle(forWritingAtPath: dumpPath))
                // The NEW major's client tools dump the old server (the documented upgrade direction).
                var dumpall = new.clientCommand("pg_dumpall", [])
                dumpall.arguments = ["-h", "127.0.0.1", "-p", String(old.port), "-U", "postgres"]
                dumpall.environment["PGPASSWORD"] = old.password
                let redactor = Redactor(secrets: [old.password, new.password])
                try await runner.check(dumpall, stdout: .file(dump), redactor: redactor)
                try dump.close()
                let restore = try await runner.check(new.clientCommand("psql", ["-X", "-q", "-f", dumpPath, "-o", "/dev/null"]), redactor: redactor)
                // The only expected complaint: the bootstrap superuser already exists.
                let errors = restore.stderrText.split(separator: "\n").filter { $0.contains("ERROR") }
                #expect(errors.allSatisfy { $0.contains("role \"postgres\" already exists") }, "\(errors)")
                let after = try Fingerprinter.capture(new.parameters())
                #expect(after.serverMajor == target)
                let diff = before.diff(against: after)
                #expect(diff.isEmpty, "\(diff.joined(separator: "\n"))")
                let strict = before.diff(against: after, options: .init(compareServerVersion: true, compareDataChecksums: true))
                #expect(strict.contains { $0.hasPrefix("server version: 15.") })
                #expect(after.databases.first { $0.name == "appdb" }?.totalRows == 3005)
            }
        }
    }

    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func inventoryReportsSizeExtensionsAndMD5Roles() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            try PostgresFixtures.populate(pg.parameters(), extensions: ["hstore"])
            let inventory = try Inventory.capture(pg.parameters())
            #expect(inventory.serverMajor == 15)
            #expect(inventory.totalDatabaseBytes > 20_000_000)
            #expect(inventory.totalDatabaseBytes == inventory.databases.reduce(0) { $0 + $1.bytes })
            #expect(Set(inventory.databases.map(\.name)) == ["appdb", "postgres", "template0", "template1"])
            #expect(inventory.md5Roles == ["app_md5"])
            #expect(inventory.installedExtensions.contains(ExtensionFingerprint(name: "hstore", version: "1.8")))
            #expect(inventory.installedExtensions.contains { $0.name == "plpgsql" })
            #expect(inventory.databases.first { $0.name == "template0" }?.extensions.isEmpty == true)
            #expect(inventory.databases.allSatisfy { $0.localeProvider == "c" && $0.collate == "C.UTF-8" })
            #expect(inventory.collationMismatches.isEmpty)
        }
    }
}

extension FingerprintTests {
    /// PG17+'s builtin provider records collation version "1", so a mismatch can be staged without extra OS
    /// locales: pretend the database and one collation were created under another version.
    @Test(.enabled(if: LocalPostgres.isAvailable(18), Comment(rawValue: LocalPostgres.unavailableReason(18))))
    func inventoryReportsCollationVersionMismatches() async throws {
        try await LocalPostgres.with(major: 18) { pg in
            let main = try pg.connect()
            try main.execute("CREATE DATABASE builtin_db TEMPLATE template0 LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8'")
            let clean = try Inventory.capture(pg.parameters())
            #expect(clean.collationMismatches.isEmpty)
            #expect(clean.databases.first { $0.name == "builtin_db" }?.localeProvider == "b")
            try main.execute("UPDATE pg_database SET datcollversion = '0' WHERE datname = 'builtin_db'")
            let db = try Connection(pg.parameters(database: "builtin_db"))
            try db.execute("CREATE COLLATION staged (provider = builtin, locale = 'C.UTF-8'); UPDATE pg_collation SET collversion = '0' WHERE collname = 'staged'")
            let inventory = try Inventory.capture(pg.parameters())
            #expect(inventory.collationMismatches == [
                CollationMismatch(database: "builtin_db", collation: nil, recordedVersion: "0", actualVersion: "1"),
                CollationMismatch(database: "builtin_db", collation: "staged", recordedVersion: "0", actualVersion: "1"),
            ])
            #expect(inventory.collationMismatches.first?.description == "builtin_db: database default collation recorded version 0, now 1")
        }
    }
}

struct FingerprintDiffTests {
    static func sample() -> Fingerprint {
        Fingerprint(
            serverVersion: "15.18", serverMajor: 15, dataChecksums: false,
            roles: [RoleFingerprint(name: "app", superuser: false, canLogin: true, passwordKind: .md5)],
            databases: [DatabaseFingerprint(
                name: "appdb", encoding: "UTF8", collate: "en_US.UTF-8", ctype: "en_US.UTF-8",
                extensions: [ExtensionFingerprint(name: "hstore", version: "1.7")],
                tables: [TableFingerprint(schema: "public", name: "t", rowCount: 3, checksum: "42")],
                sequences: [SequenceFingerprint(schema: "public", name: "s", lastValue: 7)]
            )]
        )
    }

    @Test func ignoresWhatAnUpgradeLegitimatelyChanges() {
        let before = Self.sample()
        var after = before
        after.serverVersion = "18.6"
        after.serverMajor = 18
        after.dataChecksums = true
        after.databases[0].extensions[0].version = "1.8"
        #expect(before.diff(against: after).isEmpty)
        let strict = before.diff(against: after, options: .init(compareServerVersion: true, compareDataChecksums: true, compareExtensionVersions: true))
        #expect(strict == [
            "server version: 15.18 -> 18.6",
            "data_checksums: off -> on",
            "database appdb: extension hstore: version 1.7 -> 1.8",
        ])
    }

    @Test func reportsEverythingElse() {
        let before = Self.sample()
        var after = before
        after.roles[0].passwordKind = .scram
        after.databases[0].collate = "C.UTF-8"
        after.databases[0].extensions = []
        after.databases[0].tables[0].checksum = "43"
        after.databases[0].sequences[0].lastValue = nil
        after.databases.append(DatabaseFingerprint(name: "extra", encoding: "UTF8", collate: "C", ctype: "C", extensions: [], tables: [], sequences: []))
        #expect(before.diff(against: after) == [
            "role app: password md5 -> scram",
            "database appdb: LC_COLLATE en_US.UTF-8 -> C.UTF-8",
            "database appdb: extension hstore: missing after",
            "database appdb: table public.t: content differs (same 3 rows, checksum 42 -> 43)",
            "database appdb: sequence public.s: last value 7 -> unused",
            "database extra: only after",
        ])
    }
}
