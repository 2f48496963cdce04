import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport

/// Issue #21 item 2: the InvenTree sample on a docker engine on another host — the test environment's second
/// dockerd in its own network and mount namespaces, reached only over TCP (`compose/testenv/remote`). Its
/// containers' addresses and its loopback are unreachable from here, and the bind-mounted data directory exists
/// only on its side. `upshift status`, `pg-upgrade` (dump), `rollback`, `update` and `rollback` run as a user
/// would with `DOCKER_HOST=tcp://…`, and the data is compared through psql on that engine after each.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct RemoteEngineEndToEndTests {
    /// Set by `compose/testenv/up` (`remote up`); missing means the environment is incomplete, not a reason to skip.
    static func remoteHost() throws -> String {
        guard let host = ProcessInfo.processInfo.environment["UPSHIFT_REMOTE_DOCKER_HOST"], !host.isEmpty else {
            throw E2EFailure("UPSHIFT_REMOTE_DOCKER_HOST is not set: start the test environment with eval \"$(compose/testenv/up)\", which starts the remote engine too")
        }
        return host
    }

    @Test func upgradeRollbackUpdateRollbackOnARemoteEngine() async throws {
        let host = try Self.remoteHost()
        try await E2EDeployment.with(sample: "inventree", namePrefix: "remote", dockerHost: host) { d in
            // An init script bind-mounted from the engine's host (as n8n ships one): it ran when the cluster was
            // made, and must not run again on the new cluster the restore fills (the mask's stand-in file has to
            // be on the engine's host too).
            let compose = try d.read("docker-compose.yml")
            let dataMount = "      - ${INVENTREE_EXT_VOLUME:?You must specify the 'INVENTREE_EXT_VOLUME' variable in the .env file!}:/var/lib/postgresql/data/:z\n"
            #expect(compose.contains(dataMount))
            try d.write("docker-compose.yml", compose.replacingOccurrences(
                of: dataMount, with: dataMount + "      - ./init/marker.sql:/docker-entrypoint-initdb.d/marker.sql:ro\n"))
            try await d.docker(
                ["run", "--rm", "--network", "none", "-v", "\(d.path)/init:/w", "--entrypoint", "sh", "postgres:15", "-c",
                 "echo 'CREATE TABLE init_marker (id int PRIMARY KEY); INSERT INTO init_marker VALUES (1);' > /w/marker.sql"])
                .checked("writing the init script on the remote engine's host")
            #expect(!FileManager.default.fileExists(atPath: d.url("init").path))
            try await d.up()
            #expect(try await InvenTreeE2E.psql(d, "SELECT count(*) FROM init_marker") == "1")
            try await InvenTreeE2E.seed(d, ["--megabytes", "1"])
            let before = try await InvenTreeE2E.tableDigests(d)
            // The data directory is on the engine's host only: nothing of it is on this machine.
            #expect(!FileManager.default.fileExists(atPath: d.url("inventree-data").path))

            let status = try await d.upshift(["status"])
            #expect(status.exitCode == 0, "\(status)")
            #expect(status.stdout.contains("PostgreSQL 15 (PG_VERSION 15)"), "\(status.stdout)")

            let plan = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("the engine is on another host (\(host))"), "\(plan.stdout)")
            #expect(!plan.stdout.contains("published on 127.0.0.1"), "nothing may be published on the engine's host: \(plan.stdout)")

            // 1. Upgrade: the window reaches the database only through the tunnel.
            let upgraded = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            #expect(upgraded.exitCode == 0, "\(upgraded)")
            #expect(upgraded.stderr.contains("verify") && upgraded.stderr.contains("identical"), "\(upgraded.stderr)")
            #expect(try await InvenTreeE2E.psql(d, "SHOW server_version_num").hasPrefix("18"))
            #expect(try await InvenTreeE2E.tableDigests(d) == before)
            #expect(!FileManager.default.fileExists(atPath: d.url("inventree-data").path))
            let aside = try await d.docker(["run", "--rm", "--network", "none", "-v", "\(d.path)/inventree-data:/w:ro", "postgres:15", "ls", "/w"])
                .checked("listing the data folder on the remote engine").stdout
            #expect(aside.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("pgdb.pg15-") }, "\(aside)")
            try await InvenTreeE2E.expectRunning(d, ["inventree-db", "inventree-server", "inventree-worker"])

            // 2. Rollback: the old cluster back, its fingerprint verified through a tunnel of the undo's own.
            let back = try await d.upshift(["rollback", "--yes"])
            #expect(back.exitCode == 0, "\(back)")
            #expect(back.stderr.contains("old fingerprint verified: identical"), "\(back.stderr)")
            #expect(try await InvenTreeE2E.psql(d, "SHOW server_version_num").hasPrefix("15"))
            #expect(try await InvenTreeE2E.tableDigests(d) == before)

            // 3. Update the application, then roll that back too (under `scripts/test --full`: CI time; the update's
            // database work goes through the same tunnel as the upgrade's).
            if E2EEnvironment.full {
                try await InvenTreeE2E.waitForServerStartup(d)
                let updated = try await d.upshift(["update", "--to", "1.3.0", "--yes"])
                #expect(updated.exitCode == 0, "\(updated)")
                #expect(try await InvenTreeE2E.invokeVersion(d) == "1.3.0")
                let undone = try await d.upshift(["rollback", "--yes"])
                #expect(undone.exitCode == 0, "\(undone)")
                #expect(try await InvenTreeE2E.invokeVersion(d) == "1.0.0")
                #expect(try await InvenTreeE2E.tableDigests(d) == before)
            }

            // 4. The user's server never restarted as after a crash: the tunnel's relay leaves no orphan behind
            // for the postmaster (PID 1) to reap.
            let db = try await d.containerID("inventree-db")
            let logs = try await d.docker(["logs", db]).stderr
            #expect(!logs.contains("terminated by signal"), "\(logs.suffix(2000))")
        }
    }

    /// The same engine reached as docker users reach a server: `DOCKER_HOST=ssh://root@…` (docker runs
    /// `docker system dial-stdio` there through ssh). The generic sample on a named volume: upgrade and rollback.
    /// Under `scripts/test --full` only: CI reaches the same engine over TCP above (the tunnel, the undo's own
    /// tunnel and the plan are the same whatever carries docker).
    @Test(.enabled(if: E2EEnvironment.full, "scripts/test --full only")) func upgradeAndRollbackOverSSH() async throws {
        guard let host = ProcessInfo.processInfo.environment["UPSHIFT_REMOTE_SSH_HOST"], !host.isEmpty else {
            throw E2EFailure("UPSHIFT_REMOTE_SSH_HOST is not set: start the test environment with eval \"$(compose/testenv/up)\"")
        }
        try await E2EDeployment.with(sample: "generic", namePrefix: "remote-ssh", dockerHost: host) { d in
            try await d.up()
            _ = try await E2EUpgrade.psql(d, service: "db", "CREATE TABLE kept (id serial PRIMARY KEY, note text); INSERT INTO kept (note) SELECT 'row ' || g FROM generate_series(1, 500) g")
            let digest = "SELECT count(*) || ':' || md5(string_agg(note, ',' ORDER BY id)) FROM kept"
            let before = try await E2EUpgrade.psql(d, service: "db", digest)

            let upgraded = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            #expect(upgraded.exitCode == 0, "\(upgraded)")
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
            #expect(try await E2EUpgrade.psql(d, service: "db", digest) == before)

            let back = try await d.upshift(["rollback", "--yes"])
            #expect(back.exitCode == 0, "\(back)")
            #expect(back.stderr.contains("old fingerprint verified: identical"), "\(back.stderr)")
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
            #expect(try await E2EUpgrade.psql(d, service: "db", digest) == before)
        }
    }
}
