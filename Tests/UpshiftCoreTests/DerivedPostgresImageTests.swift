import Foundation
import Testing
import UpshiftCore

/// Immich's database on `ghcr.io/immich-app/postgres`: refused by name with the reason (its extensions are not in
/// the official image) instead of a hint to try `--db-service`, which refuses the same service.
struct DerivedPostgresImageTests {
    @Test func refusedByNameWithoutDbService() throws {
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("derived-postgres")) }
        #expect(error?.exitCode == .usage)
        #expect(error?.message == "no postgres service in project \"derived-postgres\": service \"database\" keeps PostgreSQL data under /var/lib/postgresql "
            + "but runs ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0, an image built on postgres, not the official postgres image")
        #expect(error?.hint?.contains("--db-service") == false)
        #expect(error?.hint?.contains("lacks the extensions of ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0") == true)
        #expect(error?.hint?.contains("immich-app/postgres with a newer major") == true)
    }

    @Test func refusedWithDbService() throws {
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("derived-postgres"), named: "database") }
        #expect(error?.exitCode == .usage)
        #expect(error?.message.hasPrefix("service \"database\" keeps PostgreSQL data under /var/lib/postgresql but runs ghcr.io/immich-app/postgres:") == true)
        #expect(error?.message.hasSuffix("(--db-service)") == true)
    }

    /// An application service named with --db-service keeps the plain message: it is no database at all.
    @Test func applicationServiceKeepsThePlainMessage() throws {
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("derived-postgres"), named: "immich-server") }
        #expect(error?.message.contains("does not run a postgres image") == true)
    }
}
