import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftSupport

/// Bitnami's variables: the superuser upshift needs is postgres with POSTGRESQL_POSTGRES_PASSWORD, not the
/// application user, and the data directory is the family's own.
struct BitnamiServiceTests {
    @Test func superuserIsPostgresWithItsOwnPassword() throws {
        let config = try ComposeFixtures.config("bitnami-app-user")
        let database = try DatabaseService.select(from: config)
        #expect(database.family == .bitnami)
        #expect(database.superuser == "postgres")
        #expect(database.database == "appdb")
        #expect(database.password?.revealed == "root-secret")
        #expect(database.pgdata == "/bitnami/postgresql/data")
        #expect(database.dataLocation.mountTarget == "/bitnami/postgresql")
        #expect(database.imageMajor == 15)
        try BitnamiRefusals.check(database: database, service: config.services["db"]!, method: .dump)
        #expect(throws: UpshiftError.self) { try BitnamiRefusals.check(database: database, service: config.services["db"]!, method: .pgUpgrade) }
    }

    @Test func applicationPasswordWithoutPostgresPasswordIsRefused() throws {
        var config = try ComposeFixtures.config("bitnami-app-user")
        config.services["db"]!.environment["POSTGRESQL_POSTGRES_PASSWORD"] = nil
        let database = try DatabaseService.select(from: config)
        #expect(database.password == nil)
        let error = #expect(throws: UpshiftError.self) { try BitnamiRefusals.check(database: database, service: config.services["db"]!, method: .dump) }
        #expect(error?.exitCode == .usage)
        #expect(error?.message.contains("no password") == true)
        #expect(error.map { !($0.message + ($0.hint ?? "")).contains("app-secret") } == true)
    }
}
