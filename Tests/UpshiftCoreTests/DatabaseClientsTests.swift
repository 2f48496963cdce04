import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCompose

/// Which running services a window stops: the database's clients only.
struct DatabaseClientsTests {
    /// The InvenTree sample (upstream's shape): server and worker stop; the cache stays although its
    /// environment (upstream's shared `.env`) names the database host.
    @Test func inventreeKeepsItsCacheRunning() throws {
        let config = try ComposeFixtures.config("inventree")
        let db = try DatabaseService.select(from: config)
        #expect(config.services["inventree-cache"]?.environment["INVENTREE_DB_HOST"] == "inventree-db")
        #expect(config.services["inventree-server"]?.dependsOn == ["inventree-cache", "inventree-db"])
        let split = DatabaseClients.split(
            running: ["inventree-cache", "inventree-db", "inventree-server", "inventree-worker"], config: config, database: db,
            applicationServices: AppDetection.detect(in: config).applicationServices)
        #expect(split.stop == ["inventree-server", "inventree-worker"])
        #expect(split.keep == ["inventree-cache"])
    }

    @Test func clientsAreFoundByDependencyNamespaceOrHostInTheEnvironment() throws {
        var config = try ComposeFixtures.config("inventree")
        let db = try DatabaseService.select(from: config)
        config.services["cron"] = ComposeService(image: "alpine:3", environment: ["DATABASE_URL": "postgres://u@inventree-db:5432/x"])
        config.services["exporter"] = ComposeService(image: "prometheuscommunity/postgres-exporter", environment: ["DATA_SOURCE_HOST": "inventree-db"])
        var shared = ComposeService(image: "busybox")
        shared.networkMode = "service:inventree-db"
        config.services["shell"] = shared
        var dependent = ComposeService(image: "someone/reporting:2")
        dependent.dependsOn = ["inventree-db"]
        config.services["reports"] = dependent
        config.services["lookalike"] = ComposeService(image: "alpine:3", environment: ["TARGET": "inventree-db-admin", "URL": "http://my-inventree-db/x"])
        config.services["proxy"] = ComposeService(image: "caddy:2", environment: ["UPSTREAM": "inventree-db"])
        let split = DatabaseClients.split(running: ["cron", "exporter", "shell", "reports", "lookalike", "proxy", "inventree-db"], config: config, database: db)
        #expect(split.stop == ["cron", "exporter", "reports", "shell"])
        #expect(split.keep == ["lookalike", "proxy"])
    }

    @Test func hostNamesAreWholeWords() {
        let hosts: Set<String> = ["db"]
        for yes in ["db", "db:5432", "postgres://u:p@db/x", "host=db port=5432", "tcp://db"] { #expect(DatabaseClients.mentions(yes, anyOf: hosts), "\(yes)") }
        for no in ["dbadmin", "my-db", "db.example.com", "mongodb", ""] { #expect(!DatabaseClients.mentions(no, anyOf: hosts), "\(no)") }
    }
}
