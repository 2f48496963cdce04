import Foundation
import Testing
import UpshiftTestSupport

/// One `tianon/postgres-upgrade:OLD-to-NEW` fixture image and what it must hold.
struct UpgradeImage: Sendable, CustomTestStringConvertible {
    var old: String
    var new: String
    /// Full versions the fixture trees carry (Debian 15.18, wheels 16.2 / 18.6).
    var oldVersion: String
    var newVersion: String
    var tag: String { "\(old)-to-\(new)" }
    var image: String { "tianon/postgres-upgrade:\(tag)" }
    /// tianon's `dir()`: `/data` up to 17, `/docker` from 18 (docker-library/postgres#1259).
    static func dataDirectory(_ major: String) -> String {
        (Int(major) ?? 0) >= 18 ? "/var/lib/postgresql/\(major)/docker" : "/var/lib/postgresql/\(major)/data"
    }
    var testDescription: String { image }

    static let all = [
        UpgradeImage(old: "15", new: "18", oldVersion: "15.18", newVersion: "18.6"),
        UpgradeImage(old: "16", new: "18", oldVersion: "16.2", newVersion: "18.6"),
        UpgradeImage(old: "15", new: "16", oldVersion: "15.18", newVersion: "16.2"),
    ]
}

/// The pg_upgrade method runs the new major's `pg_upgrade` in a `tianon/postgres-upgrade` container, so the fixture
/// (`compose/images/postgres-upgrade`) must behave like the real image: fixture `postgres:NEW` plus the old major's
/// binaries, tianon's ENV/ENTRYPOINT/CMD/WORKDIR, and its traps (the entrypoint's initdb turns 18's data checksums
/// on, so a 15 cluster fails the check, issue tianon#121). These tests pin that, and show that the path upshift
/// takes (argv as uid 999, `initdb --no-data-checksums`, `--check`, `--link`, one mount) really upgrades data.
@Suite(
    .serialized,
    .enabled(if: E2EEnvironment.isEngineReachable, "no docker engine: run `eval \"$(compose/testenv/up)\"` first")
)
struct UpgradeImageFidelityTests {
    // MARK: - Scratch volume and containers, removed in every exit path

    /// Runs `body` with a fresh volume name and a container-name prefix; afterwards (returned or thrown) removes
    /// every container named with that prefix and the volume.
    static func withScratch<T: Sendable>(_ prefix: String, _ body: (_ volume: String) async throws -> T) async throws -> T {
        let volume = E2EEnvironment.uniqueName(prefix)
        func cleanUp() async {
            if let ids = try? await E2EEnvironment.docker(["ps", "-aq", "--filter", "name=^\(volume)"]).stdout {
                let list = ids.split(separator: "\n").map(String.init)
                if !list.isEmpty { _ = try? await E2EEnvironment.docker(["rm", "-fv"] + list) }
            }
            _ = try? await E2EEnvironment.docker(["volume", "rm", "-f", volume])
        }
        do {
            try await E2EEnvironment.dockerChecked(["volume", "create", volume])
            let value = try await body(volume)
            await cleanUp()
            let left = try await E2EEnvironment.dockerChecked(["volume", "ls", "-q", "--filter", "name=\(volume)"]).stdout
            #expect(left.isEmpty, "scratch volume \(volume) left behind")
            return value
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// `docker run --rm` of the upgrade image with the scratch volume at /var/lib/postgresql (old and new data on
    /// one mount, as tianon's README recommends for `--link`), no network; `user` nil = the image's default (root).
    static func runUpgradeImage(
        _ image: UpgradeImage, volume: String, user: String? = "999:999", entrypoint: String? = nil, _ arguments: [String] = []
    ) async throws -> E2EOutput {
        var argv = ["run", "--rm", "--network", "none", "--mount", "type=volume,src=\(volume),dst=/var/lib/postgresql"]
        if let user { argv += ["--user", user] }
        if let entrypoint { argv += ["--entrypoint", entrypoint] }
        return try await E2EEnvironment.docker(argv + [image.image] + arguments, timeout: .seconds(300))
    }

    /// Starts `postgres:MAJOR` detached on the volume (mounted at `mount`) and waits until it answers on TCP
    /// (the entrypoint's init-time temp server is socket-only, so a TCP answer means the real server is up).
    static func startServer(name: String, major: String, volume: String, mount: String, environment: [String]) async throws {
        var argv = ["run", "-d", "--name", name, "--network", "none", "--mount", "type=volume,src=\(volume),dst=\(mount)"]
        for entry in environment { argv += ["-e", entry] }
        try await E2EEnvironment.dockerChecked(argv + ["postgres:\(major)"])
        try await E2EPoll.until("postgres:\(major) in \(name) to accept connections", timeout: .seconds(90)) {
            let running = try await E2EEnvironment.docker(["inspect", "-f", "{{.State.Running}}", name]).stdout
            if running.trimmingCharacters(in: .whitespacesAndNewlines) == "false" {
                let logs = try await E2EEnvironment.docker(["logs", name])
                throw E2EFailure("\(name) exited: \(logs.stdout.suffix(1500))\(logs.stderr.suffix(1500))")
            }
            return try await E2EEnvironment.docker(["exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"]).succeeded
        }
    }

    static func psql(_ container: String, _ sql: String) async throws -> String {
        let out = try await E2EEnvironment.dockerChecked(
            ["exec", container, "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-XAtc", sql])
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - 15 -> 18, end to end

    @Test func fifteenToEighteenUpgradesWithLinkOnceTheNewClusterHasNoChecksums() async throws {
        let image = UpgradeImage.all[0]
        try await Self.withScratch("upgimg-15-18") { volume in
            // 1. A 15 cluster at tianon's PGDATAOLD inside the one volume, some data, clean (SIGINT) shutdown.
            let old = "\(volume)-pg15"
            try await Self.startServer(
                name: old, major: "15", volume: volume, mount: "/var/lib/postgresql",
                environment: ["PGDATA=\(UpgradeImage.dataDirectory("15"))", "POSTGRES_HOST_AUTH_METHOD=trust"])
            _ = try await Self.psql(old, """
                CREATE TABLE parts(id int PRIMARY KEY, name text NOT NULL);
                INSERT INTO parts SELECT g, 'part ' || g FROM generate_series(1, 1000) g;
                CREATE INDEX parts_name ON parts(name);
                """)
            #expect(try await Self.psql(old, "SHOW data_checksums") == "off")
            try await E2EEnvironment.dockerChecked(["stop", old], timeout: .seconds(120))
            let stopped = try await E2EEnvironment.dockerChecked(["inspect", "-f", "{{.State.ExitCode}}", old]).stdout
            #expect(stopped.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            let oldLogs = try await E2EEnvironment.dockerChecked(["logs", old])
            #expect((oldLogs.stdout + oldLogs.stderr).contains("database system is shut down"))
            try await E2EEnvironment.dockerChecked(["rm", "-v", old])

            // 2. The image used as tianon documents it (root, its entrypoint, `--check`): the entrypoint's initdb
            //    keeps 18's default data checksums, so the 15 cluster is refused (tianon#121). Not bent for upshift.
            let trap = try await Self.runUpgradeImage(image, volume: volume, user: nil, ["--check"])
            #expect(trap.exitCode != 0, "\(trap)")
            #expect(trap.stdout.contains("old cluster does not use data checksums but the new one does"), "\(trap)")
            //    ...and its new cluster's pg_hba.conf lacks the `host all all all` line the postgres entrypoint adds.
            let hba = try await Self.runUpgradeImage(image, volume: volume, entrypoint: "cat", ["\(UpgradeImage.dataDirectory("18"))/pg_hba.conf"])
            #expect(hba.succeeded, "\(hba)")
            #expect(!hba.stdout.contains("host all all all"), "\(hba.stdout)")
            //    (The entrypoint ran as root: its `mkdir -p` left /var/lib/postgresql/18 owned by root, so remove as root.)
            try await Self.runUpgradeImage(image, volume: volume, user: "0:0", entrypoint: "rm", ["-rf", "/var/lib/postgresql/18"])
                .checked("rm the entrypoint's cluster")

            // 3. upshift's path: argv as uid 999, entrypoint overridden, paths from the image's PGBIN*/PGDATA* env.
            let initdb = try await Self.runUpgradeImage(
                image, volume: volume, entrypoint: "initdb", ["--no-data-checksums", "-U", "postgres", "-D", UpgradeImage.dataDirectory("18")])
            #expect(initdb.succeeded, "\(initdb)")
            let check = try await Self.runUpgradeImage(image, volume: volume, entrypoint: "pg_upgrade", ["--check", "--link"])
            #expect(check.succeeded, "\(check)")
            #expect(check.stdout.contains("*Clusters are compatible*"), "\(check)")
            let upgrade = try await Self.runUpgradeImage(image, volume: volume, entrypoint: "pg_upgrade", ["--link"])
            #expect(upgrade.succeeded, "\(upgrade)")
            #expect(upgrade.stdout.contains("Upgrade Complete"), "\(upgrade)")
            #expect(upgrade.stdout.contains("Linking user relation files"), "\(upgrade)")

            // 4. postgres:18 on the same volume (its default PGDATA = tianon's PGDATANEW) serves the data.
            let new = "\(volume)-pg18"
            try await Self.startServer(name: new, major: "18", volume: volume, mount: "/var/lib/postgresql", environment: [])
            #expect(try await Self.psql(new, "SELECT count(*), sum(id), max(name) FROM parts") == "1000|500500|part 999")
            #expect(try await Self.psql(new, "SHOW server_version") == image.newVersion)
            #expect(try await Self.psql(new, "SHOW data_checksums") == "off")
            #expect(try await Self.psql(new, "SELECT count(*) FROM pg_indexes WHERE tablename = 'parts'") == "2")
            let logs = try await E2EEnvironment.dockerChecked(["logs", new])
            #expect((logs.stdout + logs.stderr).contains("Skipping initialization"))
        }
    }

    // MARK: - Every image: both majors' binaries, tianon's configuration

    @Test(arguments: UpgradeImage.all)
    func bothMajorsBinariesAndTianonsConfiguration(_ image: UpgradeImage) async throws {
        try await E2EEnvironment.dockerChecked(["pull", "-q", image.image])   // through the registry mirror
        for (major, version) in [(image.old, image.oldVersion), (image.new, image.newVersion)] {
            for tool in ["postgres", "pg_upgrade", "pg_ctl", "pg_controldata", "initdb"] {
                let out = try await E2EEnvironment.docker(
                    ["run", "--rm", "--network", "none", "--user", "999:999", "--entrypoint", "/usr/lib/postgresql/\(major)/bin/\(tool)",
                     image.image, "--version"])
                #expect(out.succeeded && out.stdout.hasPrefix("\(tool) (PostgreSQL) \(version)"), "\(image.image) \(tool) \(major): \(out)")
            }
        }
        let config = try await E2EEnvironment.dockerChecked(["image", "inspect", "-f", "{{json .Config}}", image.image]).stdout
        let json = try #require(try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any])
        let env = Set((json["Env"] as? [String]) ?? [])
        for expected in [
            "PGBINOLD=/usr/lib/postgresql/\(image.old)/bin", "PGBINNEW=/usr/lib/postgresql/\(image.new)/bin",
            "PGDATAOLD=\(UpgradeImage.dataDirectory(image.old))", "PGDATANEW=\(UpgradeImage.dataDirectory(image.new))",
            "PG_MAJOR=\(image.new)", "PG_VERSION=\(image.newVersion)",
        ] {
            #expect(env.contains(expected), "\(image.image) env lacks \(expected): \(env.sorted())")
        }
        #expect(json["Entrypoint"] as? [String] == ["docker-upgrade"])
        #expect(json["Cmd"] as? [String] == ["pg_upgrade"])
        #expect(json["WorkingDir"] as? String == "/var/lib/postgresql")
        // The default pg_upgrade on PATH is the new major's, as in postgres:NEW.
        let onPath = try await E2EEnvironment.docker(["run", "--rm", "--network", "none", "--entrypoint", "pg_upgrade", image.image, "--version"])
        #expect(onPath.stdout.hasPrefix("pg_upgrade (PostgreSQL) \(image.newVersion)"), "\(onPath)")
    }

    /// The upgrade image is postgres:NEW plus the old tree: the new major's files, the docker-library entrypoint files,
    /// users and image settings must equal the fixture postgres:NEW (the recipe copies the assembly; this catches drift),
    /// and nothing is stored twice (size ≤ postgres:NEW + postgres:OLD).
    @Test(arguments: UpgradeImage.all)
    func newMajorPartEqualsTheFixturePostgresImage(_ image: UpgradeImage) async throws {
        let listing = """
            cd / && find usr/lib/postgresql/\(image.new) usr/lib/*.libs usr/local/bin usr/local/share/docker-library-postgres \
            etc/passwd etc/group docker-entrypoint-initdb.d -type f ! -name docker-upgrade | LC_ALL=C sort | xargs sha256sum
            """
        func digest(_ reference: String) async throws -> String {
            try await E2EEnvironment.dockerChecked(
                ["run", "--rm", "--network", "none", "--entrypoint", "sh", reference, "-c", listing]).stdout
        }
        let fixture = try await digest("postgres:\(image.new)")
        let upgrade = try await digest(image.image)
        // the upgrade image may add the old major's *.libs folder (16's pgserver.libs); everything else must match
        let oldLibs = image.old == "16" ? "usr/lib/pgserver.libs/" : "\u{0}"
        let upgradeLines = upgrade.split(separator: "\n").filter { !$0.contains(oldLibs) }
        #expect(upgradeLines == fixture.split(separator: "\n"), "\(image.image) differs from postgres:\(image.new)")
        #expect(fixture.contains("usr/local/bin/docker-entrypoint.sh"))

        func config(_ reference: String, _ field: String) async throws -> String {
            try await E2EEnvironment.dockerChecked(["image", "inspect", "-f", "{{json .Config.\(field)}}", reference]).stdout
        }
        for field in ["Volumes", "StopSignal", "ExposedPorts", "User"] {
            #expect(try await config("postgres:\(image.new)", field) == config(image.image, field), "\(field)")
        }
        func size(_ reference: String) async throws -> Int {
            Int(try await E2EEnvironment.dockerChecked(["image", "inspect", "-f", "{{.Size}}", reference]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        let (upgradeSize, newSize, oldSize) = (try await size(image.image), try await size("postgres:\(image.new)"), try await size("postgres:\(image.old)"))
        #expect(upgradeSize > newSize && upgradeSize <= newSize + oldSize, "sizes: upgrade \(upgradeSize), new \(newSize), old \(oldSize)")
    }
}
