import Foundation
import UpshiftPostgres

/// SQL that fills a cluster with data of many types, several databases, sequences and roles: what a
/// fingerprint must carry through a dump/restore or an upgrade.
enum PostgresFixtures {
    static let sampleData = #"""
        CREATE TABLE items (
            id serial PRIMARY KEY, name text COLLATE "C", price numeric(12,2), ratio float8, flag boolean,
            created timestamptz, span interval, doc jsonb, blob bytea, tags text[], note text
        );
        INSERT INTO items (name, price, ratio, flag, created, span, doc, blob, tags, note)
        SELECT 'Öl-' || g || ' straße', g * 1.25, g / 7.0::float8, g % 2 = 0,
               timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour', g * interval '1 minute',
               jsonb_build_object('n', g, 'k', ARRAY[g, g + 1]), decode(md5(g::text), 'hex'), ARRAY['a' || g, 'b'],
               CASE WHEN g % 10 = 0 THEN NULL ELSE repeat('x', g % 50) END
        FROM generate_series(1, 2000) g;
        CREATE SCHEMA "odd ""schema""";
        CREATE TABLE "odd ""schema""".empty (x int);
        CREATE TABLE "odd ""schema""".dups (v int);
        INSERT INTO "odd ""schema""".dups SELECT 1 FROM generate_series(1, 5);
        CREATE SEQUENCE unused_seq;
        CREATE SEQUENCE used_seq START 100; SELECT nextval('used_seq'); SELECT nextval('used_seq');
        CREATE TABLE parted (k int, v text) PARTITION BY RANGE (k);
        CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
        CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (1000);
        INSERT INTO parted SELECT g, 'v' || g FROM generate_series(0, 999) g;
        """#

    static let roles = """
        SET password_encryption = 'scram-sha-256';
        CREATE ROLE app_scram LOGIN PASSWORD 'scram-pw-123';
        SET password_encryption = 'md5';
        CREATE ROLE app_md5 LOGIN PASSWORD 'md5-pw-123';
        RESET password_encryption;
        CREATE ROLE app_nologin NOLOGIN;
        """

    /// Creates roles, `appdb` and data in both `postgres` and `appdb`.
    static func populate(_ parameters: ConnectionParameters, extensions: [String] = []) throws {
        let main = try Connection(parameters)
        try main.execute(roles)
        try main.execute("CREATE DATABASE appdb OWNER app_scram")
        try main.execute(sampleData)
        let app = try Connection(parameters.with(database: "appdb"))
        try app.execute(sampleData)
        for ext in extensions { try app.execute("CREATE EXTENSION \(quoteIdentifier(ext))") }
    }
}
