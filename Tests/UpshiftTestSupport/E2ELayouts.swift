import Foundation
import UpshiftPostgres

/// The data layouts people run (issue 15), each a small deployment of its own: an application container and
/// a `postgres:15` service `db` whose data sits where the layout says. The tests upgrade, kill and roll back
/// each one and check the data from outside upshift.
public struct E2ELayout: Sendable, CustomStringConvertible {
    public var name: String
    /// The db service's `PGDATA` entry (environment map form), if any.
    public var pgdata: String?
    /// The db service's data mount (short syntax).
    public var mount: String
    /// Top-level `volumes:` block (without the key), if any.
    public var volumes: String?
    /// A docker volume the test creates first and removes last (`external: true`; `{external}` in `volumes`).
    public var external: Bool = false
    /// The compose diff after an upgrade to 18 (`-old`/`+new` lines, besides the image line).
    public var pgdataDiff: [String]
    /// `--mode` for the pg_upgrade method: link where the old cluster is an entry of its mount, copy at a volume root.
    public var upgradeMode: String
    /// The bind directory (relative to the project) whose entries the test lists, if the data is on the host.
    public var hostDirectory: String?

    public var description: String { name }

    public static let password = "layout-Pw 7;x"

    /// Every layout of issue 15's list 1 that is not the InvenTree sample (a sub-directory of its mount,
    /// covered by the other suites).
    public static let all: [E2ELayout] = [
        E2ELayout(name: "bind mount at PGDATA", mount: "./postgres:/var/lib/postgresql/data",
                  pgdataDiff: ["+      PGDATA: /var/lib/postgresql/data"], upgradeMode: "link", hostDirectory: "."),
        E2ELayout(name: "named volume at PGDATA", mount: "dbdata:/var/lib/postgresql/data", volumes: "  dbdata:\n",
                  pgdataDiff: ["+      PGDATA: /var/lib/postgresql/data/pg18"], upgradeMode: "copy"),
        E2ELayout(name: "volume at a PGDATA sub-path", pgdata: "/var/lib/postgresql/data/pgdata", mount: "dbdata:/var/lib/postgresql/data/pgdata", volumes: "  dbdata:\n",
                  pgdataDiff: ["-      PGDATA: /var/lib/postgresql/data/pgdata", "+      PGDATA: /var/lib/postgresql/data/pgdata/pg18"], upgradeMode: "copy"),
        E2ELayout(name: "external volume at PGDATA", mount: "dbdata:/var/lib/postgresql/data", volumes: "  dbdata:\n    external: true\n    name: {external}\n",
                  external: true, pgdataDiff: ["+      PGDATA: /var/lib/postgresql/data/pg18"], upgradeMode: "copy"),
        E2ELayout(name: "18+ layout (one mount at /var/lib/postgresql)", pgdata: "/var/lib/postgresql/15/docker", mount: "dbdata:/var/lib/postgresql", volumes: "  dbdata:\n",
                  pgdataDiff: ["-      PGDATA: /var/lib/postgresql/15/docker", "+      PGDATA: /var/lib/postgresql/18/docker"], upgradeMode: "link"),
    ]

    /// CI's share (`scripts/test --full` runs all): the bind mount at PGDATA, the one that stranded data. In
    /// CI the named volume at PGDATA (the new cluster pinned to a sub-directory) is upgraded and rolled back by
    /// the tests on the generic sample (hostile passwords, methods, failures, window isolation), and the mount at
    /// /var/lib/postgresql whose PGDATA moves with the major by paperless-ngx's own file (UpstreamComposeEndToEndTests);
    /// the sub-path and external volumes repeat the named volume's moves with other names.
    public static var inCI: [E2ELayout] {
        all.filter { $0.name == "bind mount at PGDATA" }
    }

    /// The compose file; `externalName` replaces `{external}`.
    public func composeFile(externalName: String) -> String {
        var text = """
            services:
              app:
                image: inventree/inventree:0.17.0
                command: ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 2 & wait $$!; done"]
                depends_on: [db]
                stop_grace_period: 2s
              db:
                image: postgres:15
                environment:
                  POSTGRES_USER: app
                  POSTGRES_PASSWORD: ${DB_PASSWORD}
                  POSTGRES_DB: app

            """
        if let pgdata { text += "      PGDATA: \(pgdata)\n" }
        text += """
                volumes:
                  - \(mount)
                healthcheck:
                  test: ["CMD-SHELL", "pg_isready -q -h 127.0.0.1 -U app -d app"]
                  interval: 1s
                  timeout: 5s
                  retries: 60
                stop_signal: SIGINT
                stop_grace_period: 10s

            """
        if let volumes { text += "volumes:\n" + volumes.replacingOccurrences(of: "{external}", with: externalName) }
        return text
    }

    /// `.env`: the password with a space and a semicolon, quoted as compose reads it.
    public static let envFile = "DB_PASSWORD='\(password)'\n"

    /// Runs `body` on a fresh deployment of this layout, brought up and seeded; removes everything after,
    /// the external volume included.
    public func with<T: Sendable>(_ body: @Sendable (E2EDeployment) async throws -> T) async throws -> T {
        let externalName = E2EEnvironment.uniqueName("e2e-ext")
        if external { try await E2EEnvironment.dockerChecked(["volume", "create", externalName]) }
        do {
            let value = try await E2EDeployment.with(files: ["docker-compose.yml": composeFile(externalName: externalName), ".env": Self.envFile], namePrefix: "layout") { d in
                try await d.up()
                try await Self.seed(d)
                return try await body(d)
            }
            if external { _ = try? await E2EEnvironment.docker(["volume", "rm", externalName]) }
            return value
        } catch {
            if external { _ = try? await E2EEnvironment.docker(["volume", "rm", "-f", externalName]) }
            throw error
        }
    }

    /// A few tables, a sequence, a view and an extra database, written through psql in the container.
    public static func seed(_ d: E2EDeployment) async throws {
        _ = try await E2EUpgrade.psql(d, service: "db", """
            CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags jsonb, created timestamptz DEFAULT now());
            INSERT INTO items (name, price, tags) SELECT 'item ' || g, g * 1.25, jsonb_build_object('n', g) FROM generate_series(1, 3000) g;
            CREATE TABLE notes (item int REFERENCES items, body text);
            INSERT INTO notes SELECT g, repeat('note ', g % 20) FROM generate_series(1, 3000, 3) g;
            CREATE VIEW cheap AS SELECT * FROM items WHERE price < 10;
            """)
        _ = try await E2EUpgrade.psql(d, service: "db", "CREATE DATABASE reports")
        _ = try await E2EUpgrade.psql(d, service: "db", database: "reports", "CREATE TABLE r AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 500) g")
    }

    /// The test's own fingerprint of every database (libpq at the container's address).
    public static func fingerprint(_ d: E2EDeployment) async throws -> Fingerprint {
        try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
    }
}
