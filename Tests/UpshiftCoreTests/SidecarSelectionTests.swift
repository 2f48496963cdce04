import Foundation
import Testing
import UpshiftCompose
import UpshiftSupport

/// Look-alikes and sidecars: which postgres-image service is the database, which ones only run client tools
/// (a backup loop) and must follow it to the new major, and the edits that take them along.
struct SidecarSelectionTests {
    // MARK: - Look-alikes

    @Test(arguments: [
        "postgrest/postgrest", "postgrest/postgrest:v12.2.3", "supabase/postgres-meta:v0.84.2",
        "infisical/infisical:latest-postgres", "prodrigestivill/postgres-backup-local:16", "bitnami/postgresql:16",
        "postgres-exporter:1", "docker.io/library/postgresql:15",
    ])
    func lookAlikeIsNotPostgres(_ text: String) throws {
        let ref = try #require(ImageReference(parsing: text))
        #expect(!ref.isPostgres, "\(text)")
    }

    @Test(arguments: [
        "postgres", "postgres:15", "docker.io/library/postgres:16", "library/postgres:17-alpine", "myreg:5000/postgres:15-alpine",
        "registry.example.com/library/postgres:16.4",
    ])
    func officialImageIsPostgres(_ text: String) throws {
        #expect(try #require(ImageReference(parsing: text)).isPostgres, "\(text)")
    }

    @Test func lookAlikesNeverCount() throws {
        let config = try ComposeFixtures.config("look-alikes")
        #expect(config.serviceNames == ["backup", "db", "infisical", "meta", "rest"])
        let db = try DatabaseService.select(from: config)
        #expect(db.service == "db")
        #expect(db.sidecars.isEmpty, "a look-alike is not on the database's image: \(db.sidecars)")
        for name in ["rest", "backup"] {
            let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: config, named: name) }
            #expect(error?.message.contains("does not run a postgres image") == true)
            #expect(error?.exitCode == .usage)
        }
    }

    // MARK: - Sidecars on the database's image

    @Test func backupSidecarIsNotTheDatabase() throws {
        let config = try ComposeFixtures.config("backup-sidecar")
        let db = try DatabaseService.select(from: config)
        #expect(db.service == "db")
        #expect(db.superuser == "app")
        #expect(db.dataLocation.volumeName == "backup-sidecar_dbdata")
        #expect(db.sidecars == ["backup", "maintenance"])
        // `postgres -c …` is still the server; a replaced command or entrypoint is not.
        #expect(DatabaseService.runsServer(config.services["db"]!, in: config, onlyCandidate: false))
        #expect(!DatabaseService.runsServer(config.services["backup"]!, in: config, onlyCandidate: true))
        #expect(!DatabaseService.runsServer(config.services["maintenance"]!, in: config, onlyCandidate: true))
        // The sidecars are part of what status/plans print; the password never is.
        let json = String(decoding: try JSONEncoder().encode(db), as: UTF8.self)
        #expect(json.contains("\"sidecars\":[\"backup\",\"maintenance\"]"))
        #expect(!json.contains("sidecar-pw"))
        // --db-service still overrides: naming the sidecar picks it (the user knows best), the db becomes none of its sidecars.
        let named = try DatabaseService.select(from: config, named: "backup")
        #expect(named.service == "backup")
        #expect(named.sidecars == ["maintenance"])
    }

    @Test func twoRealServersNeedDBService() throws {
        let config = try ComposeFixtures.config("two-servers")
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: config) }
        #expect(error?.exitCode == .usage)
        #expect(error?.message.hasPrefix("several postgres services in project \"two-servers\": analytics, backup, main") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("(analytics, main each run a server on persistent data)") == true)
        #expect(error?.hint == "choose one with --db-service analytics")
        // Flags as the command (`-c …`) are flags to postgres: analytics runs a server, on its bind-mounted PGDATA.
        let analytics = try DatabaseService.select(from: config, named: "analytics")
        #expect(analytics.dataLocation.kind == .bind && analytics.dataLocation.subpath == "analytics")
        #expect(analytics.sidecars == ["backup"], "main runs a server of its own: not a sidecar")
        let main = try DatabaseService.select(from: config, named: "main")
        #expect(main.sidecars == ["backup"])
    }

    @Test func severalCandidatesWithoutPersistentDataStayAmbiguous() throws {
        // Both run the default command, neither keeps its data: nothing tells them apart.
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("two-postgres")) }
        #expect(error?.message.hasSuffix("analytics-db, main-db") == true, "\(error?.message ?? "")")
    }

    @Test func onlyCandidateIsTheDatabaseWhateverItRuns() throws {
        let config = ComposeConfig(name: "p", services: [
            "db": ComposeService(image: "postgres:15", command: ["sh", "-c", "exec postgres"]),
            "web": ComposeService(image: "nginx:1"),
        ])
        let db = try DatabaseService.select(from: config)
        #expect(db.service == "db" && db.sidecars.isEmpty)
    }

    @Test func ephemeralServerBesideAPersistentOneIsASidecar() throws {
        let config = ComposeConfig(name: "p", services: [
            "db": ComposeService(image: "postgres:18", volumes: [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql")]),
            "legacy": ComposeService(image: "postgres:17", volumes: [ComposeServiceVolume(type: .volume, source: "old", target: "/var/lib/postgresql/data")]),
            "scratch": ComposeService(image: "postgres:18", command: ["postgres", "-c", "fsync=off"]),
        ], volumes: ["pg": ComposeTopLevelVolume(name: "p_pg"), "old": ComposeTopLevelVolume(name: "p_old")])
        // db and legacy both keep data: ambiguous; scratch (no mount) never counts.
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: config) }
        #expect(error?.message.contains("(db, legacy each run a server") == true, "\(error?.message ?? "")")
        let db = try DatabaseService.select(from: config, named: "db")
        #expect(db.sidecars == ["scratch"])
    }

    @Test func postgres18OnItsPre18MountStillCountsAsTheServer() throws {
        let config = ComposeConfig(name: "p", services: [
            "db": ComposeService(image: "postgres:18", volumes: [ComposeServiceVolume(type: .volume, source: "data", target: "/var/lib/postgresql/data")]),
            "backup": ComposeService(image: "postgres:18", command: ["sh", "-c", "sleep infinity"]),
        ], volumes: ["data": ComposeTopLevelVolume(name: "p_data")])
        let db = try DatabaseService.select(from: config)
        #expect(db.service == "db" && db.legacyLayoutLocation != nil)
        #expect(db.sidecars == ["backup"])
    }
}
