import Foundation
import UpshiftTestSupport

/// One real project's compose deployment under `compose/upstream/<folder>` (sources in its README): how to bring
/// it up as its users do, what rows to write the way its application would, and what upshift must do with it.
struct UpstreamProject: Sendable, CustomStringConvertible {
    /// What upshift must do with the deployment as shipped.
    enum Expectation: Sendable {
        /// Upgrade to 18 and roll back; the compose file changes by exactly these lines (`-old`/`+new`).
        case upgrades(composeDiff: [String])
        /// Refuse every command up front with exit 64, naming all of `mentioning` on stderr.
        case refused(mentioning: [String])
        /// Refuse pg-upgrade (64) with a hint that holds the way out; the test follows it, then upgrades and
        /// rolls back, and the compose file (after the way out) changes by `composeDiff`.
        case refusedThenUpgradesAfterTheWayOut(mentioning: [String], composeDiff: [String])
    }

    /// One psql batch of the seed: as `user` (default: the container's `POSTGRES_USER`) in `database`.
    struct Seed: Sendable {
        var database: String?
        var user: String?
        var sql: String
    }

    /// A login the application makes over TCP with its own password (n8n's non-root user), checked on 15, on 18
    /// and after the rollback: the roles and their password hashes must come through the dump.
    struct AppLogin: Sendable {
        var user: String
        var password: String
        var database: String
        var query: String
    }

    var folder: String
    var dbService: String
    /// The superuser and password for the test's own libpq fingerprint (nil password: trust).
    var superuser: String
    var password: String?
    /// The databases whose tables the test counts and hashes with psql (besides the fingerprint of all).
    var databases: [String]
    var seeds: [Seed]
    var expectation: Expectation
    var appLogin: AppLogin? = nil
    /// Extra image names the test tags from the fixture `postgres:15` before `up` (and removes after).
    var imageAliases: [String] = []
    /// Text replaced in the copied files to make the deployment's names unique (`{project}` is the project name).
    var uniqueNames: [(file: String, from: String, to: String)] = []
    /// Image names (a cache's, a proxy's) the test tags from the stand-in `inventree/inventree:0.17.0`, so that
    /// upshift sees the names users run; their services idle.
    var standInAliases: [String] = []
    /// SQL (as the superuser, in the first database) that returns 1 once the application finished starting,
    /// so the baseline is not taken while it still writes.
    var appReadyQuery: String? = nil
    /// Services that are no database clients: the window must leave them running (same container, never restarted).
    var keptRunning: [String] = []

    var description: String { folder }

    static let all: [UpstreamProject] = [n8n, paperless, mastodon, odoo, authentik, immich, inventree]

    /// The projects this run covers: all under `scripts/test --full`; in CI (time) the five that each exercise
    /// something no other CI test does: InvenTree's own file, n8n's non-root login over TCP, odoo's PGDATA
    /// sub-path on a named volume, paperless-ngx's refusal with a way out, Immich's refusal of every command.
    /// mastodon (trust, alpine) and authentik (`docker.io/library/…-alpine`) are covered in CI in part by
    /// the deployment-shape and image-family tests.
    static var selected: [UpstreamProject] { E2EEnvironment.full ? all : [n8n, paperless, odoo, immich, inventree] }

    /// InvenTree's own `contrib/container` file: `container_name` on every service, a bind mount with PGDATA in
    /// its `pgdb` sub-directory, redis and caddy whose shared `.env` names the database host. Server and worker
    /// are the stand-in InvenTree (it migrates on start: `INVENTREE_AUTO_UPDATE=True`). The cache and the proxy
    /// stay up through the window.
    static let inventree = UpstreamProject(
        folder: "inventree", dbService: "inventree-db", superuser: "pguser", password: "pgpassword", databases: ["inventree"],
        seeds: [Seed(sql: """
            INSERT INTO part_partcategory (name, description, pathstring) SELECT 'category ' || g, 'seeded', 'category ' || g FROM generate_series(1, 20) g;
            CREATE TABLE e2e_inventree_notes (id serial PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL);
            INSERT INTO e2e_inventree_notes (body, at) SELECT repeat('note ' || g, 5), timestamptz '2025-01-01' + g * interval '1 minute' FROM generate_series(1, 3000) g;
            """)],
        expectation: .upgrades(composeDiff: ["-        image: postgres:15", "+        image: postgres:18"]),
        uniqueNames: [(".env", "COMPOSE_PROJECT_NAME=inventree", "COMPOSE_PROJECT_NAME={project}"),
                      ("docker-compose.yml", "container_name: inventree-", "container_name: {project}-")],
        standInAliases: ["redis:7.0", "caddy:alpine"],
        appReadyQuery: "SELECT count(*) FROM common_inventreesetting WHERE key = '_PLUGIN_REGISTRY_HASH'",
        keptRunning: ["inventree-cache", "inventree-proxy"])

    /// n8n-hosting withPostgres: a named volume at PGDATA, `init-data.sh` bind-mounted into
    /// `/docker-entrypoint-initdb.d` creating the non-root user n8n logs in as, environment as a list.
    static let n8n = UpstreamProject(
        folder: "n8n", dbService: "postgres", superuser: "n8n_admin", password: "n8n-Admin-Pw", databases: ["n8n"],
        seeds: [Seed(database: "n8n", user: "n8n_app", sql: """
            CREATE TABLE workflow_entity (id varchar(36) PRIMARY KEY, name varchar(128) NOT NULL, active boolean NOT NULL, nodes json NOT NULL, "createdAt" timestamptz(3) NOT NULL DEFAULT now());
            INSERT INTO workflow_entity (id, name, active, nodes) SELECT md5(g::text), 'workflow ' || g, g % 3 = 0, json_build_array(json_build_object('type', 'n8n-nodes-base.httpRequest', 'n', g)) FROM generate_series(1, 400) g;
            CREATE TABLE execution_entity (id serial PRIMARY KEY, "workflowId" varchar(36) REFERENCES workflow_entity, finished boolean NOT NULL, "startedAt" timestamptz(3));
            INSERT INTO execution_entity ("workflowId", finished, "startedAt") SELECT md5((1 + g % 400)::text), g % 7 <> 0, timestamptz '2025-01-01' + g * interval '1 minute' FROM generate_series(1, 2000) g;
            """)],
        expectation: .upgrades(composeDiff: ["-    image: postgres:15", "+    image: postgres:18", "+      - PGDATA=/var/lib/postgresql/data/pg18"]),
        appLogin: AppLogin(user: "n8n_app", password: "n8n-App-Pw", database: "n8n", query: "SELECT count(*) FROM execution_entity"))

    /// paperless-ngx's file for postgres 18 (one mount at /var/lib/postgresql) run with a 15 tag: the 15 image's
    /// own VOLUME at /var/lib/postgresql/data holds the cluster, not the `pgdata` volume. Refused with the copy
    /// that moves it onto the volume as the 18+ layout; after that way out it upgrades (PGDATA 15/docker ->
    /// 18/docker). `COMPOSE_PROJECT_NAME` comes from its `.env`.
    static let paperless = UpstreamProject(
        folder: "paperless-ngx", dbService: "db", superuser: "paperless", password: "paperless", databases: ["paperless"],
        seeds: [Seed(sql: """
            CREATE TABLE documents_document (id serial PRIMARY KEY, title varchar(128) NOT NULL, content text NOT NULL, created date NOT NULL, checksum varchar(32) UNIQUE);
            INSERT INTO documents_document (title, content, created, checksum) SELECT 'scan ' || g, repeat('lorem ipsum ', g % 40), date '2024-01-01' + g, md5(g::text) FROM generate_series(1, 1500) g;
            CREATE TABLE documents_tag (id serial PRIMARY KEY, name varchar(128) UNIQUE);
            INSERT INTO documents_tag (name) SELECT 'tag ' || g FROM generate_series(1, 50) g;
            """)],
        expectation: .refusedThenUpgradesAfterTheWayOut(
            mentioning: ["declares VOLUME /var/lib/postgresql/data", "anonymous volume", "-c 'mkdir -p /to/15 && cp -a /from /to/15/docker'", "PGDATA: /var/lib/postgresql/15/docker"],
            composeDiff: ["-    image: docker.io/library/postgres:15", "+    image: docker.io/library/postgres:18",
                          "-      PGDATA: /var/lib/postgresql/15/docker", "+      PGDATA: /var/lib/postgresql/18/docker"]),
        uniqueNames: [(".env", "COMPOSE_PROJECT_NAME=paperless", "COMPOSE_PROJECT_NAME={project}")])

    /// mastodon: `postgres:14-alpine` (here 15-alpine) on the bind `./postgres14`, trust authentication only,
    /// `shm_size`, a healthcheck with the default 30 s interval, an `internal: true` network.
    static let mastodon = UpstreamProject(
        folder: "mastodon", dbService: "db", superuser: "postgres", password: nil, databases: ["mastodon_production"],
        seeds: [
            Seed(database: "postgres", sql: "CREATE DATABASE mastodon_production"),
            Seed(database: "mastodon_production", sql: """
                CREATE TABLE accounts (id bigserial PRIMARY KEY, username varchar NOT NULL, domain varchar, note text NOT NULL DEFAULT '');
                INSERT INTO accounts (username, domain, note) SELECT 'user' || g, CASE WHEN g % 4 = 0 THEN 'remote.example' END, repeat('hello ', g % 9) FROM generate_series(1, 300) g;
                CREATE TABLE statuses (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, text text NOT NULL, created_at timestamp NOT NULL);
                INSERT INTO statuses SELECT g, 1 + g % 300, 'toot ' || g, timestamp '2024-01-01' + g * interval '1 minute' FROM generate_series(1, 3000) g;
                CREATE INDEX index_statuses_on_account_id ON statuses (account_id);
                """),
        ],
        expectation: .upgrades(composeDiff: ["-    image: postgres:15-alpine", "+    image: postgres:18-alpine", "+      - PGDATA=/var/lib/postgresql/data"]))

    /// odoo (docker-library docs): PGDATA a sub-path on a named volume mounted there, the password from a compose
    /// secret file shared with the application, `POSTGRES_DB=postgres` and odoo's own database created later.
    static let odoo = UpstreamProject(
        folder: "odoo", dbService: "db", superuser: "odoo", password: "odoo-Pg pass", databases: ["odoo"],
        seeds: [
            Seed(database: "postgres", sql: "CREATE DATABASE odoo OWNER odoo ENCODING 'UTF8' TEMPLATE template0"),
            Seed(database: "odoo", sql: """
                CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar, active boolean DEFAULT true, write_date timestamp DEFAULT now());
                INSERT INTO res_partner (name, email) SELECT 'Partner ' || g, 'p' || g || '@example.com' FROM generate_series(1, 1200) g;
                CREATE TABLE ir_attachment (id serial PRIMARY KEY, res_id int, db_datas bytea);
                INSERT INTO ir_attachment (res_id, db_datas) SELECT g, decode(md5(g::text), 'hex') FROM generate_series(1, 400) g;
                """),
        ],
        expectation: .upgrades(composeDiff: ["-    image: postgres:15", "+    image: postgres:18",
                                             "-      - PGDATA=/var/lib/postgresql/data/pgdata", "+      - PGDATA=/var/lib/postgresql/data/pgdata/pg18"]))

    /// authentik: `${PG_PASS:?…}` and `${PG_USER:-authentik}` in the environment map, `env_file: .env` on the
    /// database too, `$${POSTGRES_DB}` in the healthcheck, and server/worker waiting for `service_healthy`.
    static let authentik = UpstreamProject(
        folder: "authentik", dbService: "postgresql", superuser: "authentik", password: "Hk2rV0m+9aLq/ZtX4yWcE1nB7dF3sJ6uPoQ8iR5gT0==", databases: ["authentik"],
        seeds: [Seed(sql: """
            CREATE TABLE authentik_core_user (id serial PRIMARY KEY, username varchar(150) UNIQUE NOT NULL, attributes jsonb NOT NULL DEFAULT '{}');
            INSERT INTO authentik_core_user (username, attributes) SELECT 'user' || g, jsonb_build_object('n', g) FROM generate_series(1, 800) g;
            CREATE TABLE authentik_events_event (event_uuid uuid PRIMARY KEY, action text NOT NULL, created timestamptz NOT NULL);
            INSERT INTO authentik_events_event SELECT md5(g::text)::uuid, 'login', timestamptz '2025-01-01' + g * interval '1 second' FROM generate_series(1, 2500) g;
            """)],
        expectation: .upgrades(composeDiff: ["-    image: docker.io/library/postgres:15-alpine", "+    image: docker.io/library/postgres:18-alpine",
                                             "+      PGDATA: /var/lib/postgresql/data/pg18"]))

    /// Immich: the database runs `ghcr.io/immich-app/postgres` (vectorchord, pgvecto.rs), a custom image;
    /// top-level `name:` and `container_name:` everywhere. Shown by status; pg-upgrade needs `--image` (the target
    /// cannot be derived from a custom tag), refused without it, nothing touched.
    static let immich = UpstreamProject(
        folder: "immich", dbService: "database", superuser: "postgres", password: "postgres", databases: ["immich"],
        seeds: [Seed(sql: """
            CREATE TABLE asset (id uuid PRIMARY KEY, "originalPath" varchar NOT NULL, "fileCreatedAt" timestamptz NOT NULL);
            INSERT INTO asset SELECT md5(g::text)::uuid, '/data/library/admin/IMG_' || g || '.jpg', timestamptz '2023-07-16' + g * interval '1 hour' FROM generate_series(1, 1000) g;
            """)],
        expectation: .refused(mentioning: ["service database runs ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0",
                                           "cannot derive the PostgreSQL 18 image", "--image REF"]),
        imageAliases: ["ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0"],
        uniqueNames: [("docker-compose.yml", "\nname: immich\n", "\nname: {project}\n"), ("docker-compose.yml", "container_name: immich_", "container_name: {project}_")])
}
