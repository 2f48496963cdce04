import Foundation
import Testing
import UpshiftPostgres
import UpshiftTestSupport

/// `CatalogVersions` on real servers: writes, reads, ANALYZE and VACUUM leave the digest alone; every kind of
/// DDL the replica would miss (create, alter, drop, index, grant, comment, function, subscription) changes it, and the digest
/// of a database is its own.
@Suite(.serialized)
struct CatalogVersionsTests {
    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func onFifteen() async throws { try await Self.onlyDefinitionsChangeTheDigest(major: 15) }

    @Test(.enabled(if: LocalPostgres.isAvailable(18), Comment(rawValue: LocalPostgres.unavailableReason(18))))
    func onEighteen() async throws { try await Self.onlyDefinitionsChangeTheDigest(major: 18) }

    static func onlyDefinitionsChangeTheDigest(major: Int) async throws {
        try await LocalPostgres.with(major: major) { pg in
            let parameters = pg.parameters()
            try TableActivityTests.run(parameters, [
                "CREATE TABLE item (id serial PRIMARY KEY, name text, qty int)",
                "INSERT INTO item (name, qty) SELECT 'n' || g, g FROM generate_series(1, 500) g",
                "CREATE ROLE reader",
            ])
            var last = try CatalogVersions.digest(parameters)
            #expect(last.count == 32)

            // Not DDL: the digest stays.
            try TableActivityTests.run(parameters, [
                "INSERT INTO item (name, qty) VALUES ('later', 1)", "UPDATE item SET qty = qty + 1 WHERE id < 50",
                "DELETE FROM item WHERE id = 3", "SELECT nextval('item_id_seq')", "ANALYZE item", "VACUUM item",
                "SELECT count(*) FROM item",
            ])
            #expect(try CatalogVersions.digest(parameters) == last, "writes, ANALYZE and VACUUM are not DDL")

            let ddl = [
                "ALTER TABLE item ADD COLUMN note text",
                "ALTER TABLE item DROP COLUMN note",
                "CREATE INDEX item_qty ON item (qty)",
                "DROP INDEX item_qty",
                "GRANT SELECT ON item TO reader",
                "COMMENT ON TABLE item IS 'parts'",
                "CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2'",
                "ALTER TABLE item ALTER COLUMN qty SET DEFAULT 0",
                "CREATE VIEW cheap AS SELECT id FROM item WHERE qty < 10",
                "DROP VIEW cheap",
                "CREATE SUBSCRIPTION elsewhere CONNECTION 'host=127.0.0.1 dbname=nowhere' PUBLICATION nothing WITH (connect = false)",
            ]
            for statement in ddl {
                try TableActivityTests.run(parameters, [statement])
                let now = try CatalogVersions.digest(parameters)
                #expect(now != last, "\(statement) left the digest as it was")
                last = now
            }

            // Another database's DDL is not this one's.
            try TableActivityTests.run(parameters, ["CREATE DATABASE other"])
            let here = try CatalogVersions.digest(parameters)
            try TableActivityTests.run(parameters.with(database: "other"), ["CREATE TABLE elsewhere (id int)"])
            #expect(try CatalogVersions.digest(parameters) == here)
        }
    }
}
