import Foundation
import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftSupport
import UpshiftTestSupport

/// Immich's database on `ghcr.io/immich-app/postgres`: a custom PostgreSQL image. It is the database (status and
/// doctor describe it), and pg-upgrade needs `--image` for it: its next major cannot be derived from the tag, and
/// `postgres:N` would drop its extensions.
struct DerivedPostgresImageTests {
    @Test func selectedAsACustomImageWithoutDbService() throws {
        let database = try DatabaseService.select(from: ComposeFixtures.config("derived-postgres"))
        #expect(database.service == "database")
        #expect(database.family == .custom)
        #expect(database.imageMajor == 15)
        #expect(database.pgdata == "/var/lib/postgresql/data")
    }

    @Test func selectedWithDbService() throws {
        let database = try DatabaseService.select(from: ComposeFixtures.config("derived-postgres"), named: "database")
        #expect(database.family == .custom)
    }

    /// Without --image nothing is pulled or run: the refusal comes first and names the way out.
    @Test func pgUpgradeNeedsAnExplicitImage() async throws {
        let database = try DatabaseService.select(from: ComposeFixtures.config("derived-postgres"))
        let runner = RecordingRunner()
        let error = await #expect(throws: UpshiftError.self) {
            try await TargetImage.resolve(database: database, targetMajor: 18, explicit: nil, runner: runner, progress: { _ in })
        }
        #expect(error?.exitCode == .usage)
        #expect(error?.message.contains("ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0") == true)
        #expect(error?.hint?.contains("--image REF") == true)
        #expect(runner.commands.isEmpty)
    }

    /// An application service named with --db-service keeps the plain message: it is no database at all.
    @Test func applicationServiceKeepsThePlainMessage() throws {
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("derived-postgres"), named: "immich-server") }
        #expect(error?.message.contains("does not run a postgres image") == true)
    }
}
