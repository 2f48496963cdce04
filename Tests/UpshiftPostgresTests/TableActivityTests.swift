import Foundation
import Synchronization
import Testing
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport

/// `ClusterActivity` on a real server: what it vouches for as unchanged, and what makes a table changed (a
/// written row, a TRUNCATE, an added column with a default, a renamed enum label); and a fingerprint that
/// reuses what still stands scans only the rest.
@Suite(.serialized)
struct TableActivityTests {
    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func onlyTouchedTablesLookChanged() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            // Each session in a scope of its own: closing it flushes its counters (an idle one may hold them
            // for up to 10 s).
            try Self.run(pg.parameters(), [
                "CREATE TYPE mood AS ENUM ('calm', 'busy')",
                "CREATE TABLE quiet (id int, note text)", "INSERT INTO quiet SELECT g, 'q' || g FROM generate_series(1, 100) g",
                "CREATE TABLE written (id int)", "INSERT INTO written SELECT generate_series(1, 10)",
                "CREATE TABLE truncated (id int)", "INSERT INTO truncated SELECT generate_series(1, 10)",
                "CREATE TABLE widened (id int)", "INSERT INTO widened SELECT generate_series(1, 10)",
                "CREATE TABLE moods (m mood)", "INSERT INTO moods VALUES ('calm')",
            ])
            let all: Set<String> = ["public.quiet", "public.written", "public.truncated", "public.widened", "public.moods"]
            // Counters reach the shared statistics when a session ends or within a second; wait until two
            // readings agree before taking the "before" one.
            let before = try await Self.settled(pg.parameters())
            #expect(before.trackCounts)
            #expect(try ClusterActivity.read(pg.parameters()).unchangedTables(since: before)["postgres"] == all)

            try Self.run(pg.parameters(), [
                "UPDATE written SET id = id WHERE id = 1", "TRUNCATE truncated", "ALTER TABLE widened ADD COLUMN flag int DEFAULT 7", "CREATE TABLE created (id int)",
            ])
            try await E2EPoll.until("the UPDATE's counter in the shared statistics", timeout: .seconds(30), interval: .milliseconds(100)) {
                !(try ClusterActivity.read(pg.parameters()).unchangedTables(since: before)["postgres"] ?? []).contains("public.written")
            }
            let unchanged = try ClusterActivity.read(pg.parameters()).unchangedTables(since: before)["postgres"] ?? []
            #expect(unchanged == ["public.quiet", "public.moods"], "\(unchanged.sorted())")

            // A renamed enum label changes the text of every row using it: every table of the database is in doubt.
            try Self.run(pg.parameters(), ["ALTER TYPE mood RENAME VALUE 'calm' TO 'serene'"])
            #expect((try ClusterActivity.read(pg.parameters()).unchangedTables(since: before)["postgres"] ?? []).isEmpty)

            // A fingerprint given what still stands reads only the other tables, and equals a full one.
            let full = try Fingerprinter.capture(pg.parameters())
            let standing = try #require(full.databases.first { $0.name == "postgres" })
            let known = Dictionary(uniqueKeysWithValues: standing.tables.filter { $0.qualifiedName == "public.quiet" }.map { ($0.qualifiedName, $0) })
            let scanned = Mutex<[String]>([])
            let partial = try Fingerprinter.capture(pg.parameters(), known: ["postgres": known]) { _, table, _, _ in scanned.withLock { $0.append(table) } }
            #expect(partial == full)
            #expect(!scanned.withLock { $0 }.contains("public.quiet") && scanned.withLock { $0 }.contains("public.written"))
            // A known entry is used as given: a wrong one shows in the comparison, not hidden by a scan.
            var wrong = known
            wrong["public.quiet"]?.rowCount = 1
            #expect(!(try Fingerprinter.capture(pg.parameters(), known: ["postgres": wrong])).diff(against: full).isEmpty)
        }
    }

    /// Runs `statements` in one session, closed on return.
    static func run(_ parameters: ConnectionParameters, _ statements: [String]) throws {
        let connection = try Connection(parameters)
        for sql in statements { _ = try connection.execute(sql) }
    }

    /// Reads the activity until two readings 300 ms apart agree (pending counters flushed).
    static func settled(_ parameters: ConnectionParameters) async throws -> ClusterActivity {
        var last = try ClusterActivity.read(parameters)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(300))
            let now = try ClusterActivity.read(parameters)
            if now == last { return now }
            last = now
        }
        throw UpshiftError("the statistics did not settle within 30 s")
    }
}
