import Foundation
import Testing
import UpshiftCompose
import UpshiftSupport

/// Decoding of `docker compose config --format json` output captured from compose 5.6.1.
struct ComposeConfigDecodingTests {
    @Test func inventreeLayout() throws {
        let config = try ComposeFixtures.config("inventree")
        #expect(config.name == "inventree")
        #expect(config.serviceNames == ["inventree-cache", "inventree-db", "inventree-server", "inventree-worker"])
        let db = try #require(config.services["inventree-db"])
        #expect(db.image == "postgres:15.8-bookworm")  // the tag came from .env
        #expect(db.environmentValue("PGDATA") == "/var/lib/postgresql/data/pgdb")
        #expect(db.volumes == [
            ComposeServiceVolume(type: .bind, source: "/srv/inventree/inventree-data", target: "/var/lib/postgresql/data")
        ])
        #expect(config.services["inventree-worker"]?.command == ["invoke", "worker"])
        #expect(config.services["inventree-server"]?.command == nil)
    }

    @Test func dollarsAreUnescapedAndNullValuesKept() throws {
        let config = try ComposeFixtures.config("named-volume")
        let db = try #require(config.services["db"])
        #expect(db.environmentValue("POSTGRES_PASSWORD") == "pa$word")
        #expect(db.environment.keys.contains("UNSET_BUT_DECLARED"))
        #expect(db.environmentValue("UNSET_BUT_DECLARED") == nil)
        #expect(db.volumes.map(\.type) == [.volume, .tmpfs])
        #expect(config.volumes["pgdata"]?.name == "named-volume_pgdata")
        #expect(config.services["web"]?.environment.isEmpty == true)
    }

    @Test func explicitVolumeNameAndProjectName() throws {
        let config = try ComposeFixtures.config("pg18")
        #expect(config.name == "shop")
        #expect(config.volumes["pg"]?.name == "shop-pgdata")
        #expect(config.services["database"]?.image == "postgres:18-bookworm")
    }

    @Test func overrideFileWins() throws {
        let config = try ComposeFixtures.config("override")
        #expect(config.services["db"]?.image == "myreg:5000/postgres:16-alpine")
    }

    @Test func variableDefault() throws {
        #expect(try ComposeFixtures.config("pg-major-default").services["postgres"]?.image == "postgres:15")
    }

    @Test func inactiveProfileIsAbsent() throws {
        let config = try ComposeFixtures.config("profiles")
        #expect(config.serviceNames == ["db"])
    }

    @Test func secretsAndDigest() throws {
        let config = try ComposeFixtures.config("custom-superuser")
        let pg = try #require(config.services["pg"])
        #expect(pg.environmentValue("NOTE") == "costs $5")
        #expect(pg.secrets == [ComposeServiceSecret(source: "db_password", target: "/run/secrets/db_password")])
        #expect(config.secrets["db_password"]?.file == "/srv/custom-superuser/secrets/db_password.txt")
    }

    @Test func malformedOutputNamesThePath() throws {
        let json = #"{"name":"x","services":{"db":{"volumes":[{"type":"bind"}]}}}"#
        let error = #expect(throws: UpshiftError.self) { try ComposeConfig.decode(Data(json.utf8)) }
        #expect(error?.message.contains("services.db.volumes[0]") == true)
    }

    @Test func psOutputBothShapes() throws {
        let ndjson = """
            {"Name":"p-db-1","Service":"db","State":"running","Health":"healthy","Image":"postgres:15","ExitCode":0}
            {"Name":"p-web-1","Service":"web","State":"exited","Health":"","ExitCode":137}
            """
        let containers = try ComposeContainer.parseList(Data(ndjson.utf8))
        #expect(containers.map(\.service) == ["db", "web"])
        #expect(containers[0].isRunning && containers[0].health == "healthy")
        #expect(containers[1].health == nil && containers[1].exitCode == 137)
        let array = #"[{"Name":"p-db-1","Service":"db","State":"running"}]"#
        #expect(try ComposeContainer.parseList(Data(array.utf8)).count == 1)
        #expect(try ComposeContainer.parseList(Data("\n".utf8)).isEmpty)
    }
}
