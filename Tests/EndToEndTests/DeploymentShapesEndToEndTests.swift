import Foundation
import Testing
import UpshiftPostgres
import UpshiftTestSupport

/// Issue 15: the shapes real compose files take besides their data layout — init scripts (n8n), passwords
/// from secrets (on the host and only inside the container), trust authentication, a floating tag, profiles,
/// `container_name`, several `-f` files — and the refusals that must change nothing (a remote engine).
/// Each scenario upgrades 15 -> 18, checks the data from outside upshift, rolls back and checks again.
@Suite(.serialized)
struct DeploymentShapesEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    static let app = """
          app:
            image: inventree/inventree:0.17.0
            command: ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 2 & wait $$!; done"]
            depends_on: [db]
            stop_grace_period: 2s

        """

    static func db(_ lines: String, image: String = "postgres:15", user: String = "app") -> String {
        """
          db:
            image: \(image)
        \(lines)
            healthcheck:
              test: ["CMD-SHELL", "pg_isready -q -h 127.0.0.1 -U \(user)"]
              interval: 1s
              timeout: 5s
              retries: 60
            stop_signal: SIGINT

        """
    }

    // MARK: - Init scripts

    /// n8n's shape: an init script bind-mounted into /docker-entrypoint-initdb.d creates a role and a table. It
    /// ran when the 15 cluster was made; on the new cluster it must not run again (the globals restore would fail
    /// on the role, the table would be created twice).
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func initScriptStaysOutOfTheNewCluster() async throws {
        let script = """
            #!/bin/bash
            set -e
            psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-EOSQL
            \tCREATE USER ${POSTGRES_NON_ROOT_USER} WITH PASSWORD '${POSTGRES_NON_ROOT_PASSWORD}';
            \tGRANT ALL PRIVILEGES ON DATABASE ${POSTGRES_DB} TO ${POSTGRES_NON_ROOT_USER};
            \tCREATE TABLE seeded_by_init (id int);
            \tINSERT INTO seeded_by_init VALUES (1);
            EOSQL

            """
        let compose = "services:\n" + Self.app + Self.db("""
                environment:
                  - POSTGRES_USER
                  - POSTGRES_PASSWORD
                  - POSTGRES_DB
                  - POSTGRES_NON_ROOT_USER
                  - POSTGRES_NON_ROOT_PASSWORD
                volumes:
                  - db_storage:/var/lib/postgresql/data
                  - ./init-data.sh:/docker-entrypoint-initdb.d/init-data.sh
            """, user: "changeUser") + "volumes:\n  db_storage:\n"
        let env = "POSTGRES_USER=changeUser\nPOSTGRES_PASSWORD=n8n-Db-pw-41\nPOSTGRES_DB=n8n\nPOSTGRES_NON_ROOT_USER=changeuser\nPOSTGRES_NON_ROOT_PASSWORD=n8n-App-pw-42\n"
        try await E2EDeployment.with(files: ["docker-compose.yml": compose, ".env": env, "init-data.sh": script], namePrefix: "shape-init") { d in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: d.path + "/init-data.sh")
            try await d.up()
            #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT count(*) FROM seeded_by_init") == "1")
            try await Self.upgradeAndRollBack(d, user: "changeUser", password: "n8n-Db-pw-41", secrets: ["n8n-App-pw-42"]) { (dry: E2EOutput, upgrade: E2EOutput) async throws in
                #expect(dry.stdout.contains("init scripts hidden for the first start") && dry.stdout.contains("/docker-entrypoint-initdb.d/init-data.sh"), "\(dry.stdout)")
                #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT count(*) FROM seeded_by_init") == "1", "the init script ran on the new cluster")
                #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT count(*) FROM pg_roles WHERE rolname = 'changeuser'") == "1")
                // The script is back in place for the user's next fresh install.
                #expect(try d.read("init-data.sh") == script)
            }
        }
    }

    // MARK: - Credentials

    /// POSTGRES_PASSWORD_FILE from a compose secret whose file is on the host, and a second deployment whose
    /// secret comes from the environment (it exists only inside the container): upshift reads it there. CI runs
    /// the environment case (the harder one); `scripts/test --full` both.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"), arguments: E2EEnvironment.full ? ["file", "environment"] : ["environment"])
    func passwordFromASecret(_ source: String) async throws {
        let password = "secret-Pw \"q\" 9"
        let secret = source == "file" ? "    file: ./db_password.txt\n" : "    environment: DB_PASSWORD_VALUE\n"
        let compose = "services:\n" + Self.app + Self.db("""
                environment:
                  POSTGRES_USER: app
                  POSTGRES_PASSWORD_FILE: /run/secrets/db_password
                secrets:
                  - db_password
                volumes:
                  - ./pgdata:/var/lib/postgresql/data
            """) + "secrets:\n  db_password:\n" + secret
        var files = ["docker-compose.yml": compose]
        if source == "file" { files["db_password.txt"] = password + "\n" } else { files[".env"] = "DB_PASSWORD_VALUE='\(password)'\n" }
        try await E2EDeployment.with(files: files, namePrefix: "shape-secret") { d in
            try await d.up()
            try await Self.upgradeAndRollBack(d, user: "app", password: password) { _, _ in }
        }
    }

    /// POSTGRES_HOST_AUTH_METHOD=trust and no password at all (Mastodon's compose file).
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func trustAuthentication() async throws {
        let compose = "services:\n" + Self.app + Self.db("""
                environment:
                  - 'POSTGRES_HOST_AUTH_METHOD=trust'
                  - POSTGRES_USER=postgres
                volumes:
                  - ./postgres14:/var/lib/postgresql/data
            """, user: "postgres")
        try await E2EDeployment.with(files: ["docker-compose.yml": compose], namePrefix: "shape-trust") { d in
            try await d.up()
            try await Self.upgradeAndRollBack(d, user: "postgres", password: nil) { _, _ in }
        }
    }

    // MARK: - Tags and files

    /// `image: postgres` (floating): what runs decides the old major; the edit pins postgres:18. Profiles enabled
    /// by COMPOSE_PROFILES, a second -f file holding the image line, and container_name come along.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func floatingTagProfilesOverrideFileAndContainerName() async throws {
        let container = E2EEnvironment.uniqueName("shape-db")
        let compose = "services:\n" + Self.app + Self.db("""
                container_name: \(container)
                environment:
                  POSTGRES_USER: app
                  POSTGRES_PASSWORD: ${DB_PASSWORD}
                volumes:
                  - dbdata:/var/lib/postgresql/data
            """) + "  extra:\n    image: inventree/inventree:0.17.0\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM INT; while :; do sleep 2 & wait $$!; done\"]\n    profiles: [tools]\n    stop_grace_period: 2s\nvolumes:\n  dbdata:\n"
        let override = "services:\n  db:\n    image: postgres\n"
        // `postgres` is `postgres:latest` on the engine: the 15 image here, as after a pull made years ago.
        try await E2EEnvironment.dockerChecked(["tag", "postgres:15", "postgres:latest"])
        defer { Task { _ = try? await E2EEnvironment.docker(["rmi", "postgres:latest"]) } }
        let env = "DB_PASSWORD=float-Pw-8\nCOMPOSE_FILE=docker-compose.yml:compose.override-db.yml\nCOMPOSE_PROFILES=tools\n"
        try await E2EDeployment.with(files: ["docker-compose.yml": compose, "compose.override-db.yml": override, ".env": env], namePrefix: "shape-float") { d in
            try await d.up()
            #expect(try await E2EUpgrade.runningServices(d) == ["app", "db", "extra"])
            let overrideBefore = try d.read("compose.override-db.yml")
            try await Self.upgradeAndRollBack(d, user: "app", password: "float-Pw-8", running: ["app", "db", "extra"]) { (dry: E2EOutput, _: E2EOutput) async throws in
                #expect(dry.stdout.contains("names no major"), "\(dry.stdout)")
                let diff = E2EUpgrade.diffBodies(E2EUpgrade.lineDiff(overrideBefore, try d.read("compose.override-db.yml")))
                // The image line lives in the override file, so the PGDATA pin (a named volume at PGDATA) goes there too.
                #expect(diff == ["-    image: postgres", "+    image: postgres:18", "+    environment:", "+      PGDATA: /var/lib/postgresql/data/pg18"], "\(diff)")
                let inspect = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{.Config.Image}}", container])
                #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres:18")
            }
        }
    }

    // MARK: - Refusals

    /// Against an engine on another host, the commands that still read this host's files as the engine's
    /// (`restore`, `import`, `transfer`) are refused before anything else, exit 64. `pg-upgrade` works there
    /// (`RemoteEngineEndToEndTests`); against one that cannot be reached it stops in preflight with docker's
    /// reason. Either way nothing changed and no run folder was made.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func remoteEngineIsRefusedBeforeAnythingChanges() async throws {
        try await E2ELayout.all[0].with { d in
            let composeBefore = try Data(contentsOf: d.url("docker-compose.yml"))
            for (args, env) in [(["restore", "--db-file", "backups/none.sql", "--yes"], ["DOCKER_HOST": "tcp://127.0.0.1.nip.invalid:2375"]),
                                (["import", "-f", "records.json", "--yes"], ["DOCKER_HOST": "ssh://upshift@127.0.0.1"])] {
                let refused = try await d.upshift(args, environment: env)
                #expect(refused.exitCode == 64, "\(args) \(env): \(refused)")
                #expect(refused.stderr.contains("needs the docker engine on this host") && refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
            }
            // ssh to loopback without a server: preflight's first docker call says why, before any change.
            let unreachable = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"], environment: ["DOCKER_HOST": "ssh://upshift@127.0.0.1"])
            #expect(unreachable.exitCode != 0, "\(unreachable)")
            #expect(unreachable.stderr.contains("ssh") && unreachable.stderr.contains("nothing was changed"), "\(unreachable.stderr)")
            #expect(try Data(contentsOf: d.url("docker-compose.yml")) == composeBefore)
            #expect(E2EUpgrade.runIDs(d).isEmpty)
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        }
    }

    // MARK: - Rollback after an edit

    /// Days after the upgrade the user adds a service to the compose file: `rollback` refuses before undoing
    /// anything (exit 64) and shows what changed; the stack keeps running on 18. Once the edit is undone, the
    /// rollback goes through.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func rollbackRefusesAFileEditedSinceTheRun() async throws {
        try await E2ELayout.all[1].with { d in
            let before = try d.read("docker-compose.yml")
            let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            try #require(upgrade.exitCode == 0, "\(upgrade)")
            let upgraded = try d.read("docker-compose.yml")
            let edited = upgraded + "  adminer:\n    image: inventree/inventree:0.17.0\n    profiles: [never]\n"
            try d.write("docker-compose.yml", edited)
            let refused = try await d.upshift(["rollback", "--yes"])
            #expect(refused.exitCode == 64, "\(refused)")
            #expect(refused.stderr.contains("was changed after run") && refused.stderr.contains("+  adminer:") && refused.stderr.contains("nothing was rolled back"), "\(refused.stderr)")
            #expect(!refused.stderr.contains(E2ELayout.password))
            #expect(try d.read("docker-compose.yml") == edited, "the user's edit was overwritten")
            try await E2EUpgrade.waitRunning(d, ["app", "db"])
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18, "the refused rollback undid something")
            try d.write("docker-compose.yml", upgraded)
            let rollback = try await d.upshift(["rollback", "--yes"])
            #expect(rollback.exitCode == 0, "\(rollback)")
            #expect(try d.read("docker-compose.yml") == before)
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        }
    }

    // MARK: - Shared

    /// pg-upgrade --to 18 (dry run first), the checks of `after`, then rollback: files byte for byte, 15, same data.
    static func upgradeAndRollBack(
        _ d: E2EDeployment, user: String, password: String?, secrets: [String] = [], running: Set<String> = ["app", "db"],
        after: (E2EOutput, E2EOutput) async throws -> Void
    ) async throws {
        _ = try await E2EUpgrade.psql(d, service: "db", "CREATE TABLE shape_rows AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 2000) g")
        let files = E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups", "pgdata", "postgres14"])
        let before = try await E2EUpgrade.fingerprint(d, service: "db", user: user, password: password)
        let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
        try #require(dry.exitCode == 0, "\(dry)")
        let upgrade = try await E2EUpgrade.timed("  pg-upgrade (\(d.projectName))") { try await d.upshift(["pg-upgrade", "--to", "18", "--yes"]) }
        try #require(upgrade.exitCode == 0, "\(upgrade)")
        try await E2EUpgrade.waitRunning(d, running)
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
        let after18 = try await E2EUpgrade.fingerprint(d, service: "db", user: user, password: password)
        #expect(E2EUpgrade.dataDiff(before, after18).isEmpty && E2EUpgrade.tableContent(before) == E2EUpgrade.tableContent(after18), "\(E2EUpgrade.dataDiff(before, after18))")
        try await after(dry, upgrade)
        let rollback = try await d.upshift(["rollback", "--yes"])
        try #require(rollback.exitCode == 0, "\(rollback)")
        try await E2EUpgrade.waitRunning(d, running)
        let changes = E2EUpgrade.treeChanges(files, E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups", "pgdata", "postgres14"]))
            .filter { !$0.contains(".failed-") && !$0.contains(".pg15-") }  // the kept clusters beside the data folder
        #expect(changes.isEmpty, "files not back byte for byte: \(changes.prefix(10))")
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        let back = try await E2EUpgrade.fingerprint(d, service: "db", user: user, password: password)
        #expect(E2EUpgrade.dataDiff(before, back).isEmpty && E2EUpgrade.tableContent(before) == E2EUpgrade.tableContent(back))
        for secret in (password.map { [$0] } ?? []) + secrets {
            for (label, output) in [("dry-run", dry), ("pg-upgrade", upgrade), ("rollback", rollback)] {
                #expect(!(output.stdout + output.stderr).contains(secret), "a password appears in the output of \(label)")
            }
        }
    }
}

/// Issue 16: database names that a client tool would read as a connection string (`host=… dbname=…`) or
/// that need quoting are dumped and restored as names, by the plain and the parallel dump alike. A name
/// taken as a connection string would dump another database (here: `postgres` again, through 127.0.0.2),
/// which the per-database fingerprint comparison would catch.
@Suite(.serialized)
struct HostileNamesEndToEndTests {
    static let names = ["host=127.0.0.2 dbname=postgres", "it's \"quoted\" \\ back", "spaces and ünïcode"]

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func databaseNamesAreNeverConnectionStrings() async throws {
        try await E2ELayout.all[1].with { d in
            for (index, name) in Self.names.enumerated() {
                let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                _ = try await E2EUpgrade.psql(d, service: "db", "CREATE DATABASE \(quoted)")
                _ = try await E2EUpgrade.psql(d, service: "db", database: name, "CREATE TABLE only_here_\(index) AS SELECT g FROM generate_series(1, \(100 + index)) g")
            }
            let before = try await E2ELayout.fingerprint(d)
            #expect(Set(before.databases.map(\.name)).isSuperset(of: Self.names))
            for jobs in ["1", "2"] {
                let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes", "--jobs", jobs, "--no-online-prepare"])
                try #require(upgrade.exitCode == 0, "--jobs \(jobs): \(upgrade)")
                let after = try await E2ELayout.fingerprint(d)
                #expect(after.serverMajor == 18)
                #expect(E2EUpgrade.dataDiff(before, after).isEmpty && E2EUpgrade.tableContent(before) == E2EUpgrade.tableContent(after),
                        "--jobs \(jobs): \(E2EUpgrade.dataDiff(before, after).prefix(6))")
                let rollback = try await d.upshift(["rollback", "--yes"])
                try #require(rollback.exitCode == 0, "\(rollback)")
            }
        }
    }
}
