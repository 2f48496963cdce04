import Foundation
import Testing
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport

/// libpq against a real PostgreSQL 15 started by `LocalPostgres`.
@Suite(.serialized, .enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
struct ConnectionTests {
    @Test func scramOverTCPAndTypedParameterisedQueries() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            let conn = try pg.connect()
            #expect(conn.serverMajor == 15)
            #expect(try conn.serverVersion().hasPrefix("15."))
            let auth = try conn.query("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = $1", ["postgres"]).single()
            #expect(try auth.bool("scram"))
            let row = try conn.query(
                "SELECT $1::int + 1 AS n, $2::text AS s, $3::text IS NULL AS was_null, $3::text AS nothing, $4::text AS injected",
                ["41", "Öl straße", nil, "'; DROP TABLE x; --"]
            ).single()
            #expect(try row.int("n") == 42)
            #expect(try row.string("s") == "Öl straße")
            #expect(try row.bool("was_null"))
            #expect(try row.string("nothing") == nil)
            #expect(try row.optionalInt("nothing") == nil)
            #expect(try row.string("injected") == "'; DROP TABLE x; --")
            #expect(throws: PostgresError.self) { try row.int("s") }
            #expect(throws: PostgresError.self) { try row.string("no_such_column") }
            let tag = try conn.execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2)")
            #expect(tag.commandStatus == "INSERT 0 2")
            let socket = try Connection(pg.socketParameters())
            #expect(try socket.query("SELECT count(*) AS c FROM t").single().int("c") == 2)
        }
    }

    @Test func errorsNeverContainThePassword() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            let wrong = "wrong-\(UUID().uuidString)"
            do {
                _ = try Connection(pg.parameters(password: wrong))
                Issue.record("a wrong password must not connect")
            } catch let error as PostgresError {
                #expect(error.code == .connectionFailed)
                let text = "\(error) \(String(reflecting: error))"
                #expect(text.contains("password authentication failed"))
                #expect(!text.contains(wrong))
                #expect(!text.contains(pg.password))
                #expect(!text.contains("password="))
            }
            // Nothing listens on this port: the error names host and port, not the credentials.
            let closed = try LocalPostgres.freePort()
            let params = ConnectionParameters(host: "127.0.0.1", port: closed, password: pg.password, connectTimeout: 2)
            do {
                _ = try Connection(params)
                Issue.record("a closed port must not connect")
            } catch let error as PostgresError {
                #expect(error.description.contains("127.0.0.1:\(closed)"))
                #expect(!error.description.contains(pg.password))
            }
            #expect(!"\(params)".contains(pg.password))
            #expect(!String(reflecting: params).contains(pg.password))
            let conn = try pg.connect()
            do {
                _ = try conn.query("SELECT * FROM no_such_table WHERE x = $1", [pg.password])
                Issue.record("query of a missing table must fail")
            } catch let error as PostgresError {
                #expect(error.sqlState == "42P01")
                #expect(error.code == .queryFailed)
                #expect(!error.description.contains(pg.password))
            }
        }
    }

    @Test func waitUntilReadyPollsUntilTheServerAccepts() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            let runner = LiveCommandRunner()
            #expect(Connection.ping(pg.parameters()) == .ok)
            try await runner.check(LocalPostgresTestCommands.pgctl(pg, ["-m", "fast", "-w", "stop"]))
            #expect(Connection.ping(pg.parameters()) == .noResponse)
            await #expect(throws: PostgresError.self) {
                try await Connection.waitUntilReady(pg.parameters(), deadline: .now + .milliseconds(300))
            }
            // Start without -w: the server comes up while we poll.
            try await runner.check(LocalPostgresTestCommands.pgctl(pg, ["-l", pg.logFile, "start"]))
            let start = ContinuousClock.now
            try await Connection.waitUntilReady(pg.parameters(), deadline: .now + .seconds(30))
            #expect(ContinuousClock.now - start < .seconds(30))
            #expect(try pg.connect().query("SELECT 1 AS one").single().int("one") == 1)
        }
    }
}

enum LocalPostgresTestCommands {
    static func pgctl(_ pg: LocalPostgres, _ arguments: [String]) -> Command {
        let exe = pg.binDirectory + "/pg_ctl"
        if getuid() == 0 {
            return Command("runuser", ["-u", "postgres", "--", exe, "-D", pg.dataDirectory] + arguments, workingDirectory: "/tmp")
        }
        return Command(exe, ["-D", pg.dataDirectory] + arguments, workingDirectory: "/tmp")
    }
}
