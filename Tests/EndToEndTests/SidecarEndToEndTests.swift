import Foundation
import Testing
import UpshiftTestSupport

/// A backup sidecar on the database's own image (`postgres:15`, command replaced by a `pg_dump` loop, no data
/// mount): upshift must take the database and not the sidecar, stop the sidecar for the window, switch it to the
/// new major with the database — `pg_dump` 15 refuses a PostgreSQL 18 server — and put it back on rollback.
@Suite(.serialized)
struct SidecarEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd
    static let password = "Sidecar-E2E-pw-5c1d07"

    /// Both services say `image: postgres:15` on their own line: the same literal twice, which a single-service edit
    /// would refuse as ambiguous.
    static let compose = """
        services:
          db:
            image: postgres:15
            environment:
              POSTGRES_USER: app
              POSTGRES_PASSWORD: ${DB_PASSWORD:?DB_PASSWORD must be set in .env}
              POSTGRES_DB: app
              PGDATA: /var/lib/postgresql/data/pgdb
            volumes:
              - dbdata:/var/lib/postgresql/data
            healthcheck:
              test: ["CMD-SHELL", "pg_isready -q -U app -d app"]
              interval: 2s
              timeout: 5s
              retries: 60
            stop_signal: SIGINT
            stop_grace_period: 10s
            restart: unless-stopped

          # Nightly-backup style sidecar: the postgres image for its client tools, no server.
          backup:
            image: postgres:15
            command: ["sh", "-c", "trap 'exit 0' TERM INT; while :; do pg_dump -h db -U app app > /tmp/last.sql 2> /tmp/last.err; echo $$? > /tmp/last.status; sleep 2 & wait $$!; done"]
            environment:
              PGPASSWORD: ${DB_PASSWORD:?DB_PASSWORD must be set in .env}
            depends_on:
              db:
                condition: service_healthy
            stop_grace_period: 5s
            restart: unless-stopped

        volumes:
          dbdata:

        """

    static var files: [String: String] {
        ["docker-compose.yml": compose, ".env": "# database password\nDB_PASSWORD=\(password)\n"]
    }

    /// `pg_dump` run in the sidecar against the db (password from the sidecar's own environment): its version and
    /// the server version the dump names.
    static func dumpFromSidecar(_ d: E2EDeployment) async throws -> (client: String, server: String) {
        try await E2EPoll.value("pg_dump in backup against db", timeout: .seconds(60), interval: .milliseconds(500)) {
            let out = try await d.exec("backup", ["sh", "-c", "pg_dump --version && pg_dump -h db -U app app | head -n 12"])
            guard out.exitCode == 0 else { return nil }
            let lines = out.stdout.split(whereSeparator: \.isNewline).map(String.init)
            guard let client = lines.first, let server = lines.first(where: { $0.hasPrefix("-- Dumped from database version") }) else { return nil }
            return (client, server)
        }
    }

    /// The sidecar's own loop: the status and server version of its latest dump.
    static func loopDumped(_ d: E2EDeployment, serverMajor: Int) async throws {
        try await E2EPoll.until("the backup loop dumps PostgreSQL \(serverMajor)", timeout: .seconds(60), interval: .milliseconds(500)) {
            let out = try await d.exec("backup", ["sh", "-c", "cat /tmp/last.status && grep -m1 'Dumped from database version' /tmp/last.sql"])
            return out.exitCode == 0 && out.stdout.hasPrefix("0\n") && out.stdout.contains("Dumped from database version \(serverMajor).")
        }
    }

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func backupSidecarFollowsTheDatabaseTo18AndBack() async throws {
        try await E2EUpgrade.timed("sidecar 15->18 + rollback") {
            try await E2EDeployment.with(files: Self.files, namePrefix: "sidecar") { d in
                try await d.up()
                _ = try await E2EUpgrade.psql(d, service: "db", """
                    CREATE TABLE orders(id bigserial PRIMARY KEY, note text); INSERT INTO orders(note) SELECT 'order ' || g FROM generate_series(1, 5000) g
                    """)
                let composeBefore = try Data(contentsOf: d.url("docker-compose.yml"))
                let envBefore = try Data(contentsOf: d.url(".env"))
                #expect(try await E2EUpgrade.runningServices(d) == ["backup", "db"])
                let countsBefore = try await E2EUpgrade.tableCounts(d, service: "db")
                #expect(countsBefore == "public.orders=5000")
                let before = try await Self.dumpFromSidecar(d)
                #expect(before.client.hasPrefix("pg_dump (PostgreSQL) 15."), "\(before)")
                try await Self.loopDumped(d, serverMajor: 15)
                var outputs: [(String, E2EOutput)] = []

                // status names the database (not the sidecar) and the sidecar.
                let status = try await d.upshift(["status"])
                outputs.append(("status", status))
                #expect(status.exitCode == 0, "\(status)")
                #expect(status.stdout.contains("database   db\n"), "\(status.stdout)")
                #expect(status.stdout.contains("  sidecars   backup  (postgres image, no server: pg-upgrade switches them with the database)"), "\(status.stdout)")

                // The plan says the sidecar is stopped for the window and switched with the database, with its diff.
                let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
                outputs.append(("dry-run", dry))
                try #require(dry.exitCode == 0, "\(dry)")
                #expect(dry.stdout.contains("service db: postgres:15 -> postgres:18"), "\(dry.stdout)")
                #expect(dry.stdout.contains("application services stopped during the window: backup"), "\(dry.stdout)")
                #expect(dry.stdout.contains("sidecars switched with the database: backup (postgres:15 -> postgres:18)"), "\(dry.stdout)")
                #expect(dry.stdout.contains("sidecar backup (postgres:15, runs no server) switched with it to postgres:18: its pg_dump must be at least the server's major"), "\(dry.stdout)")
                #expect(try Data(contentsOf: d.url("docker-compose.yml")) == composeBefore)

                let upgrade = try await E2EUpgrade.timed("  pg-upgrade --to 18 (db + backup sidecar)") {
                    try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                }
                outputs.append(("pg-upgrade", upgrade))
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                let runID = try #require(E2EUpgrade.runIDs(d).last)

                // Both image lines changed, nothing else; .env untouched.
                let diff = E2EUpgrade.lineDiff(String(decoding: composeBefore, as: UTF8.self), try d.read("docker-compose.yml"))
                E2EUpgrade.show("docker-compose.yml after 15->18 with a sidecar", diff)
                #expect(E2EUpgrade.diffBodies(diff) == [
                    "-    image: postgres:15", "+    image: postgres:18", "-    image: postgres:15", "+    image: postgres:18",
                ], "\(diff)")
                #expect(try Data(contentsOf: d.url(".env")) == envBefore)

                // The sidecar was in the window's stop list, and runs again — on 18, its pg_dump working against 18.
                let plan = try String(contentsOfFile: E2EUpgrade.runFolder(d, runID) + "/plan.json", encoding: .utf8)
                #expect(plan.contains("Stop the application: backup"), "the sidecar is stopped for the window")
                try await E2EUpgrade.waitRunning(d, ["backup", "db"])
                #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
                #expect(try await E2EUpgrade.tableCounts(d, service: "db") == countsBefore)
                let after = try await Self.dumpFromSidecar(d)
                #expect(after.client.hasPrefix("pg_dump (PostgreSQL) 18."), "\(after)")
                #expect(after.server.hasPrefix("-- Dumped from database version 18."), "\(after)")
                try await Self.loopDumped(d, serverMajor: 18)

                // Rollback: files byte for byte, both services on 15 again, the sidecar dumping 15.
                let rollback = try await E2EUpgrade.timed("  rollback (db + backup sidecar)") { try await d.upshift(["rollback", "--yes"]) }
                outputs.append(("rollback", rollback))
                try #require(rollback.exitCode == 0, "\(rollback)")
                #expect(try Data(contentsOf: d.url("docker-compose.yml")) == composeBefore, "compose file not byte-identical after rollback")
                #expect(try Data(contentsOf: d.url(".env")) == envBefore, ".env not byte-identical after rollback")
                try await E2EUpgrade.waitRunning(d, ["backup", "db"])
                #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
                #expect(try await E2EUpgrade.tableCounts(d, service: "db") == countsBefore)
                let rolledBack = try await Self.dumpFromSidecar(d)
                #expect(rolledBack.client.hasPrefix("pg_dump (PostgreSQL) 15."), "\(rolledBack)")
                #expect(rolledBack.server.hasPrefix("-- Dumped from database version 15."), "\(rolledBack)")
                try await Self.loopDumped(d, serverMajor: 15)

                for (label, output) in outputs {
                    #expect(!output.stdout.contains(Self.password) && !output.stderr.contains(Self.password), "password printed by \(label)")
                }
            }
        }
    }
}
