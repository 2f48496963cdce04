import Foundation
import Testing
import UpshiftTestSupport

/// One fixture image and where its data lives.
struct FixtureImage: Sendable, CustomTestStringConvertible {
    var image: String
    var mount: String
    var pgdata: String
    var major: String
    var testDescription: String { image }
}

/// The Postgres fixture images (`compose/images/postgres`) must fail and succeed exactly where the official
/// docker-library/postgres images do, or upshift's end-to-end tests would prove nothing. These tests pin the
/// behaviours upshift depends on: the real server's refusal of another major's data, 18's refusal of the old
/// layout, init skipped on existing data, pulls through the registry mirror, uid 999, clean SIGINT shutdown.
@Suite(
    .serialized,
    .enabled(if: E2EEnvironment.isEngineReachable, "no docker engine: run `eval \"$(compose/testenv/up)\"` first")
)
struct FixtureFidelityTests {
    static let password = "fixture-pw-\(UUID().uuidString.prefix(6))"

    /// One `db` service on `image`, data in the named volume `data` mounted at `mount`, optional extra env lines.
    static func composeFile(image: String, mount: String, environment: [String] = []) -> String {
        let env = (["POSTGRES_PASSWORD: ${DB_PASSWORD}"] + environment).map { "      \($0)" }.joined(separator: "\n")
        return """
            services:
              db:
                image: \(image)
                environment:
            \(env)
                volumes:
                  - data:\(mount)
                healthcheck:
                  test: ["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"]
                  interval: 1s
                  timeout: 5s
                  retries: 120
            volumes:
              data:

            """
    }

    static func files(image: String, mount: String, environment: [String] = []) -> [String: String] {
        ["compose.yaml": composeFile(image: image, mount: mount, environment: environment), ".env": "DB_PASSWORD=\(password)\n"]
    }

    /// Waits until the `db` container has exited and returns its exit code and logs.
    static func waitForExit(_ deployment: E2EDeployment) async throws -> (code: Int, logs: String) {
        let id = try await E2EPoll.value("db container to exist", timeout: .seconds(30)) {
            let id = try await deployment.containerID("db")
            return id.isEmpty ? nil : id
        }
        let code = try await E2EPoll.value("db container to exit", timeout: .seconds(60)) { () -> Int? in
            let state = try await E2EEnvironment.dockerChecked(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id])
            let parts = state.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            return parts.first == "exited" ? Int(parts.last ?? "") : nil
        }
        let logs = try await E2EEnvironment.dockerChecked(["logs", id])
        return (code, logs.stdout + logs.stderr)
    }

    /// Brings up a PostgreSQL 15 cluster in the volume `data` (at the ≤17 default PGDATA) and stops it cleanly.
    static func initialise15(_ deployment: E2EDeployment) async throws {
        try await deployment.up()
        let created = try await deployment.exec("db", ["psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", "CREATE TABLE keep(v text); INSERT INTO keep VALUES ('still here')"])
        try created.checked("create table")
        try await deployment.composeChecked(["stop", "db"])
        try await deployment.composeChecked(["rm", "-f", "db"])
    }

    @Test func postgres18RefusesA15DataDirectoryWithTheServersOwnError() async throws {
        try await E2EDeployment.with(files: Self.files(image: "postgres:15", mount: "/var/lib/postgresql/data"), namePrefix: "fid-major") { d in
            try await Self.initialise15(d)
            // A user who pins PGDATA to the old path and bumps the tag: the entrypoint skips init, the server refuses.
            try d.write("compose.yaml", Self.composeFile(image: "postgres:18", mount: "/var/lib/postgresql/data", environment: ["PGDATA: /var/lib/postgresql/data"]))
            try await d.composeChecked(["up", "-d", "db"])
            let (code, logs) = try await Self.waitForExit(d)
            #expect(code != 0)
            #expect(logs.contains("Skipping initialization"))
            #expect(logs.contains("FATAL:  database files are incompatible with server"))
            #expect(logs.contains("The data directory was initialized by PostgreSQL version 15, which is not compatible with this version 18.6"))
            #expect(!logs.contains(Self.password))
        }
    }

    @Test func postgres18RefusesOldLayoutData() async throws {
        try await E2EDeployment.with(files: Self.files(image: "postgres:15", mount: "/var/lib/postgresql/data"), namePrefix: "fid-layout") { d in
            try await Self.initialise15(d)
            // The classic upgrade mistake: same volume at /var/lib/postgresql/data, image bumped to 18, PGDATA default.
            try d.write("compose.yaml", Self.composeFile(image: "postgres:18", mount: "/var/lib/postgresql/data"))
            try await d.composeChecked(["up", "-d", "db"])
            let (code, logs) = try await Self.waitForExit(d)
            #expect(code == 1)
            #expect(logs.contains("Error: in 18+, these Docker images are configured to store database data in a"))
            #expect(logs.contains("Counter to that, there appears to be PostgreSQL data in:\n         /var/lib/postgresql/data\n"))
            #expect(logs.contains("https://github.com/docker-library/postgres/pull/1259"))
        }
    }

    @Test func postgres18RefusesAnEmptyMountAtTheOldPath() async throws {
        try await E2EDeployment.with(files: Self.files(image: "postgres:18", mount: "/var/lib/postgresql/data"), namePrefix: "fid-empty") { d in
            try await d.composeChecked(["up", "-d", "db"])
            let (code, logs) = try await Self.waitForExit(d)
            #expect(code == 1)
            #expect(logs.contains("/var/lib/postgresql/data (unused mount/volume)"))
        }
    }

    @Test func initIsSkippedOnExistingDataAndTheDataSurvivesANewContainer() async throws {
        try await E2EDeployment.with(files: Self.files(image: "postgres:15", mount: "/var/lib/postgresql/data"), namePrefix: "fid-skip") { d in
            try await Self.initialise15(d)
            // New container on the same volume, with a different password: init must not run again.
            try d.setEnv("DB_PASSWORD", "another-\(Self.password)")
            try await d.up()
            let logs = try await d.composeChecked(["logs", "--no-color", "db"]).stdout
            #expect(logs.contains("PostgreSQL Database directory appears to contain a database; Skipping initialization"))
            #expect(!logs.contains("PostgreSQL init process complete"))
            let row = try await d.exec("db", ["psql", "-U", "postgres", "-Atc", "SELECT v FROM keep"]).checked("select")
            #expect(row.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "still here")
        }
    }

    @Test func refusesToInitialiseWithoutAPasswordWithTheOfficialMessage() async throws {
        let run = try await E2EEnvironment.docker(["run", "--rm", "--network", "none", "postgres:18"], timeout: .seconds(60))
        #expect(run.exitCode == 1)
        #expect(run.stderr.contains("Error: Database is uninitialized and superuser password is not specified."), "\(run)")
    }

    @Test func initialisesUserDatabaseAndInitScriptsWithThePasswordFromAFile() async throws {
        let compose = """
            services:
              db:
                image: postgres:16
                environment:
                  POSTGRES_USER: app
                  POSTGRES_DB: appdb
                  POSTGRES_PASSWORD_FILE: /run/pw
                  POSTGRES_INITDB_ARGS: --data-checksums
                volumes:
                  - data:/var/lib/postgresql/data
                  - ./pw:/run/pw:ro
                  - ./init:/docker-entrypoint-initdb.d:ro
                healthcheck:
                  test: ["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-U", "app", "-d", "appdb"]
                  interval: 1s
                  retries: 120
            volumes:
              data:

            """
        let files = [
            "compose.yaml": compose, "pw": "\(Self.password)\n",
            "init/10-schema.sql": "CREATE TABLE seeded(v text); INSERT INTO seeded VALUES ('from initdb.d');\n",
        ]
        try await E2EDeployment.with(files: files, namePrefix: "fid-init") { d in
            try await d.up()
            let row = try await d.exec("db", ["psql", "-U", "app", "-d", "appdb", "-Atc", "SELECT v FROM seeded"]).checked("seeded row")
            #expect(row.stdout == "from initdb.d\n")
            let settings = try await d.exec("db", ["psql", "-U", "app", "-d", "appdb", "-Atc", "SELECT rolsuper, current_setting('data_checksums') FROM pg_roles WHERE rolname = 'app'"]).checked("role")
            #expect(settings.stdout == "t|on\n")
            // Like the official image, loopback is `trust` (initdb's default); the network address needs the password.
            let viaNetwork = ["sh", "-c", "exec psql -h \"$(hostname -i)\" -U app -d appdb -Atc 'SELECT 1'"]
            let wrong = try await d.exec("db", viaNetwork, environment: ["PGPASSWORD": "wrong"])
            #expect(!wrong.succeeded && wrong.stderr.contains("password authentication failed"), "\(wrong)")
            let right = try await d.exec("db", viaNetwork, environment: ["PGPASSWORD": Self.password])
            #expect(right.stdout == "1\n", "\(right)")
            let logs = try await d.composeChecked(["logs", "--no-color", "db"])
            #expect(logs.stdout.contains("running /docker-entrypoint-initdb.d/10-schema.sql"))
            #expect(!logs.stdout.contains(Self.password) && !logs.stderr.contains(Self.password))
        }
    }

    @Test func composePullFetchesThroughTheLocalRegistryMirror() async throws {
        // A variant tag only this test removes, so parallel users of postgres:16 are not disturbed.
        let tag = "postgres:16.2-bookworm"
        try await E2EDeployment.with(files: Self.files(image: tag, mount: "/var/lib/postgresql/data"), namePrefix: "fid-pull") { d in
            _ = try await E2EEnvironment.docker(["image", "rm", tag])
            let gone = try await E2EEnvironment.docker(["image", "inspect", tag])
            #expect(!gone.succeeded, "the local image must be gone before the pull")

            let pull = try await d.composeChecked(["pull", "db"])
            #expect((pull.stdout + pull.stderr).contains("Pulled"))
            let digests = try await E2EEnvironment.dockerChecked(["image", "inspect", "-f", "{{json .RepoDigests}}", tag]).stdout

            // The digest the engine recorded is the one our registry serves for library/postgres:16.2-bookworm.
            let registryDigest = try await E2EEnvironment.runner.run(.init(
                "curl", ["-fsSI", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                         "http://\(E2EEnvironment.registry)/v2/library/postgres/manifests/16.2-bookworm"]))
            let header = registryDigest.stdoutText.split(whereSeparator: \.isNewline)
                .first { $0.lowercased().hasPrefix("docker-content-digest:") }
            let digest = try #require(header?.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(digests.contains("postgres@\(digest)"))

            // A tag the registry does not have fails to pull: the pull really asks the registry.
            try d.write("compose.yaml", Self.composeFile(image: "postgres:99-upshift-missing", mount: "/var/lib/postgresql/data"))
            let missing = try await d.compose(["pull", "db"])
            #expect(!missing.succeeded)
        }
    }

    @Test(arguments: [
        FixtureImage(image: "postgres:15", mount: "/var/lib/postgresql/data", pgdata: "/var/lib/postgresql/data", major: "15"),
        FixtureImage(image: "postgres:16", mount: "/var/lib/postgresql/data", pgdata: "/var/lib/postgresql/data", major: "16"),
        FixtureImage(image: "postgres:18", mount: "/var/lib/postgresql", pgdata: "/var/lib/postgresql/18/docker", major: "18"),
    ])
    func runsAsUid999AndStopsCleanlyOnSIGINT(fixture: FixtureImage) async throws {
        let (image, mount, pgdata, major) = (fixture.image, fixture.mount, fixture.pgdata, fixture.major)
        try await E2EDeployment.with(files: Self.files(image: image, mount: mount), namePrefix: "fid-uid\(major)") { d in
            let clock = ContinuousClock()
            var start = clock.now
            try await d.up()
            let firstReady = clock.now - start

            // Like the official image: the entrypoint (root) chowns PGDATA to the user only, so on 18 (where it
            // creates 18/docker itself) the group stays 0; files initdb writes belong to 999:999.
            let owner = try await d.exec("db", ["stat", "-c", "%u %a", pgdata]).checked("stat PGDATA")
            #expect(owner.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "999 700")
            let files = try await d.exec("db", ["stat", "-c", "%u:%g", "\(pgdata)/PG_VERSION", "\(pgdata)/base"]).checked("stat files")
            #expect(files.stdout == "999:999\n999:999\n")
            let serverUID = try await d.exec("db", ["sh", "-c", "grep '^Uid:' /proc/1/status"]).checked("uid of PID 1")
            #expect(serverUID.stdout.split(whereSeparator: \.isWhitespace).dropFirst().first == "999")
            let passwd = try await d.exec("db", ["sh", "-c", "grep '^postgres:' /etc/passwd"]).checked("passwd")
            #expect(passwd.stdout.hasPrefix("postgres:x:999:999:"))
            let version = try await d.exec("db", ["cat", "\(pgdata)/PG_VERSION"]).checked("PG_VERSION")
            #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == major)
            let hba = try await d.exec("db", ["tail", "-n", "1", "\(pgdata)/pg_hba.conf"]).checked("pg_hba")
            #expect(hba.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "host all all all scram-sha-256")
            let tools = try await d.exec("db", ["sh", "-c", "for t in pg_isready psql pg_dump pg_dumpall pg_restore pg_controldata initdb pg_ctl vacuumdb; do command -v $t >/dev/null || echo missing $t; done"])
            #expect(tools.succeeded && tools.stdout.isEmpty, "\(tools)")
            // Password authentication over TCP works with the password from the environment (never argv).
            let tcp = try await d.exec("db", ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_encoding"], environment: ["PGPASSWORD": Self.password])
            #expect(tcp.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "UTF8", "\(tcp)")

            start = clock.now
            try await d.composeChecked(["stop", "-t", "30", "db"])
            let stopTime = clock.now - start
            #expect(stopTime < .seconds(10), "SIGINT must give a fast shutdown, took \(stopTime)")
            let control = try await d.composeChecked(["run", "--rm", "--no-deps", "-T", "--entrypoint", "pg_controldata", "db", pgdata])
            let state = control.stdout.split(whereSeparator: \.isNewline).first { $0.hasPrefix("Database cluster state:") }
            #expect(state?.dropFirst("Database cluster state:".count).trimmingCharacters(in: .whitespaces) == "shut down", "\(control)")

            start = clock.now
            try await d.up()
            let restartReady = clock.now - start
            print("fixture-timing \(image): first start to healthy \(firstReady), stop \(stopTime), restart to healthy \(restartReady)")
        }
    }
}

/// The harness itself: teardown really removes everything (including files uid 999 wrote into a bind mount),
/// the poll helper really times out, and the built binary is found and runs.
@Suite(
    .serialized,
    .enabled(if: E2EEnvironment.isEngineReachable, "no docker engine: run `eval \"$(compose/testenv/up)\"` first")
)
struct E2EHarnessSelfTests {
    @Test func tearDownRemovesContainersVolumesAndFilesOwnedByTheDatabaseUser() async throws {
        let files = [
            "docker-compose.yml": FixtureFidelityTests.composeFile(image: "postgres:15", mount: "/var/lib/postgresql/data")
                .replacingOccurrences(of: "      - data:/var/lib/postgresql/data", with: "      - ./pgdata:/var/lib/postgresql/data"),
            ".env": "DB_PASSWORD=\(FixtureFidelityTests.password)\n",
        ]
        let deployment = try E2EDeployment(files: files, namePrefix: "harness")
        do {
            try await deployment.up()
            let attributes = try FileManager.default.attributesOfItem(atPath: deployment.url("pgdata/PG_VERSION").path)
            #expect((attributes[.ownerAccountID] as? NSNumber)?.intValue == 999)
            // The folder name is the project name, so upshift run in it finds the same project as `-p`.
            #expect(deployment.directory.lastPathComponent == deployment.projectName)
        } catch {
            try? await deployment.tearDown()
            throw error
        }
        try await deployment.tearDown()
        #expect(!FileManager.default.fileExists(atPath: deployment.path))
        let left = try await E2EEnvironment.dockerChecked(["ps", "-a", "-q", "--filter", "label=com.docker.compose.project=\(deployment.projectName)"])
        #expect(left.stdout.isEmpty)
        let volumes = try await E2EEnvironment.dockerChecked(["volume", "ls", "-q", "--filter", "label=com.docker.compose.project=\(deployment.projectName)"])
        #expect(volumes.stdout.isEmpty)
    }

    @Test(arguments: ["generic", "inventree"])
    func sampleDeploymentComesUpInAFreshCopy(sample: String) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        try await E2EDeployment.with(sample: sample) { d in
            try await d.up()
            let ready = clock.now - start
            let states = try await d.composeChecked(["ps", "-a", "--format", "{{.Service}} {{.State}}"]).stdout
            let lines = states.split(whereSeparator: \.isNewline).map(String.init)
            #expect(lines.count >= 2, "\(states)")
            #expect(lines.allSatisfy { $0.hasSuffix(" running") }, "\(states)")
            let db = sample == "inventree" ? "inventree-db" : "db"
            // The sample's healthcheck probes the socket, which answers while the entrypoint's init server
            // still runs socket-only: TCP readiness follows within moments, polled with a deadline.
            try await E2EPoll.until("pg_isready over TCP in \(db)", timeout: .seconds(60), interval: .milliseconds(200)) {
                try await d.exec(db, ["pg_isready", "-h", "127.0.0.1"]).succeeded
            }
            print("fixture-timing sample \(sample): copy + up --wait \(ready)")
        }
    }

    @Test func pollTimesOutWithTheConditionsName() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: E2EFailure.self) {
            try await E2EPoll.until("a condition that never holds", timeout: .milliseconds(300), interval: .milliseconds(50)) { false }
        }
        #expect(clock.now - start < .seconds(5))
        let waited = try await E2EPoll.until("an immediate condition", timeout: .seconds(1)) { true }
        #expect(waited < .seconds(1))
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil, "upshift binary not built (swift build) and UPSHIFT_BIN not set"))
    func theBuiltBinaryRuns() async throws {
        let help = try await E2EUpshift.run(["--help"])
        #expect(help.exitCode == 0, "\(help)")
        #expect((help.stdout + help.stderr).contains("USAGE: upshift"))
    }
}
