import Foundation
import Testing
@testable import UpshiftCore
import UpshiftPostgres
import UpshiftTestSupport

/// Which sessions count as "another client" during the window, against a real PostgreSQL 15.
@Suite(.serialized, .enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
struct OtherSessionsTests {
    @Test func aLocalReadinessProbeIsNotAClientButEveryOtherSessionIs() async throws {
        try await LocalPostgres.with(major: 15) { pg in
            var probe = pg.parameters()
            probe.applicationName = "pg_isready"
            var client = pg.parameters()
            client.applicationName = "cron-report"
            let held = [try Connection(probe), try Connection(client)]
            let others = try await WindowIsolation.otherSessions(pg.parameters())
            #expect(others.count == 1, "\(others)")
            #expect(others.first?.hasSuffix("postgres@127.0.0.1 (cron-report)") == true, "\(others)")
            // Any other name from loopback still counts, and so does a session without a name.
            var unnamed = pg.parameters()
            unnamed.applicationName = ""
            let more = held + [try Connection(unnamed)]
            #expect(try await WindowIsolation.otherSessions(pg.parameters()).count == 2)
            withExtendedLifetime(more) {}
        }
    }
}
