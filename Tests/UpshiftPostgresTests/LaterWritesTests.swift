import Foundation
import Testing
import UpshiftPostgres
import UpshiftTestSupport

/// `LaterWrites` on real servers: rows inserted or updated after the horizon mark their table, rows from
/// before it (and frozen ones) do not, and only what the exported snapshot sees counts.
@Suite(.serialized)
struct LaterWritesTests {
    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func onFifteen() async throws { try await Self.rowsWrittenAfterTheHorizonMarkTheirTable(major: 15) }

    @Test(.enabled(if: LocalPostgres.isAvailable(18), Comment(rawValue: LocalPostgres.unavailableReason(18))))
    func onEighteen() async throws { try await Self.rowsWrittenAfterTheHorizonMarkTheirTable(major: 18) }

    static func rowsWrittenAfterTheHorizonMarkTheirTable(major: Int) async throws {
        try await LocalPostgres.with(major: major) { pg in
            try TableActivityTests.run(pg.parameters(), [
                "CREATE TABLE quiet (id int)", "INSERT INTO quiet SELECT generate_series(1, 50)",
                "CREATE TABLE appended (id int)", "INSERT INTO appended SELECT generate_series(1, 50)",
                "CREATE TABLE updated (id int, note text)", "INSERT INTO updated SELECT g, 'x' FROM generate_series(1, 50) g",
                "CREATE TABLE frozen (id int)", "INSERT INTO frozen SELECT generate_series(1, 5)", "VACUUM (FREEZE) frozen",
                "CREATE TABLE unseen (id int)",
            ])
            let horizon = try LaterWrites.horizon(try Connection(pg.parameters()))
            #expect(!horizon.isEmpty && horizon.allSatisfy(\.isNumber))
            try TableActivityTests.run(pg.parameters(), ["INSERT INTO appended VALUES (51)", "UPDATE updated SET note = 'y' WHERE id = 7"])
            let snapshot = try ExportedSnapshot(pg.parameters())
            defer { snapshot.release() }
            // Written after the snapshot: its snapshot does not see it.
            try TableActivityTests.run(pg.parameters(), ["INSERT INTO unseen VALUES (1)"])
            let tables: [(schema: String, name: String)] = ["quiet", "appended", "updated", "frozen", "unseen"].map { ("public", $0) }
            let newer = try LaterWrites.tablesWithNewerRows(pg.parameters(), snapshot: snapshot.id, horizon: horizon, tables: tables)
            #expect(newer == ["public.appended", "public.updated"], "\(newer.sorted())")
            #expect(throws: PostgresError.self) {
                try LaterWrites.tablesWithNewerRows(pg.parameters(), snapshot: snapshot.id, horizon: "1; DROP TABLE quiet", tables: tables)
            }
        }
    }
}
