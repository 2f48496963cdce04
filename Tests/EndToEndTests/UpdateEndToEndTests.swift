import Foundation
import Testing
import UpshiftApps
import UpshiftSupport
import UpshiftTestSupport

/// `upshift update` on the real test engine with the stand-in InvenTree images: 0.17.0 -> 1.0.0 where
/// 1.0.0's migration `part.0133_part_ipn_unique` fails (two parts planted with one IPN) is rolled back to
/// 0.17.0 with byte-identical `.env` and identical table contents; with the planted rows removed, the same
/// update succeeds, the app reports 1.0.0 and keeps its data. One deployment for both, to keep CI lean.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct UpdateEndToEndTests {
    @Test func failedMigrationRollsBackThenUpdateSucceeds() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "update") { d in
            try d.setEnv("INVENTREE_TAG", "0.17.0")
            try await d.up()
            try await InvenTreeE2E.seed(d, ["--megabytes", "1", "--plant-migration-failure"])
            let envBefore = try Data(contentsOf: d.url(".env"))
            let before = try await InvenTreeE2E.tableDigests(d)
            #expect(before.contains { $0.hasPrefix("django_session=") && !$0.hasPrefix("django_session=0:") })

            // 1. The migration fails: everything is put back.
            let failed = try await d.upshift(["update", "--to", "1.0.0", "--yes"])
            #expect(failed.exitCode == 1, "\(failed)")
            #expect(failed.stderr.contains("part_part_IPN_unique"))
            #expect(failed.stderr.contains("old fingerprint verified: identical"))
            #expect(failed.stderr.contains("rollback complete"))
            #expect(try Data(contentsOf: d.url(".env")) == envBefore)
            let rolledBack = try await InvenTreeE2E.tableDigests(d)
            #expect(rolledBack == before, "changed: \(Set(rolledBack).symmetricDifference(before).sorted())")
            #expect(try await InvenTreeE2E.invokeVersion(d) == "0.17.0")
            try await InvenTreeE2E.expectRunning(d, ["inventree-db", "inventree-server", "inventree-worker"], image: "inventree/inventree:0.17.0")
            // The invoke backup's file names were recorded and printed.
            #expect(failed.stderr.contains(".psql.bin.gz"))

            // 2. Without the planted duplicates the update goes through and keeps the data.
            _ = try await InvenTreeE2E.psql(d, "DELETE FROM part_part WHERE \"IPN\" = 'DUPLICATE-IPN'")
            let parts = try await InvenTreeE2E.psql(d, "SELECT count(*) FROM part_part")
            let kept = try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("part_part=") && !$0.hasPrefix("django_migrations=") && !$0.hasPrefix("django_content_type=") && !$0.hasPrefix("auth_permission=") }
            let updated = try await d.upshift(["update", "--to", "1.0.0", "--yes"])
            #expect(updated.exitCode == 0, "\(updated)")
            #expect(updated.stderr.contains("invoke version: InvenTree 1.0.0"))
            #expect(try await InvenTreeE2E.invokeVersion(d) == "1.0.0")
            #expect(try d.read(".env").contains("\nINVENTREE_TAG=1.0.0\n"))
            #expect(try await InvenTreeE2E.psql(d, "SELECT count(*) FROM part_part") == parts)
            let after = try await InvenTreeE2E.tableDigests(d)
            for digest in kept { #expect(after.contains(digest), "changed by the update: \(digest)") }
            try await InvenTreeE2E.expectRunning(d, ["inventree-db", "inventree-server", "inventree-worker"], image: "inventree/inventree:1.0.0")
        }
    }

    @Test func downgradeIsRefusedBeforeAnythingChanges() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "update-down") { d in
            try await d.up(["inventree-db"])
            let envBefore = try Data(contentsOf: d.url(".env"))
            let refused = try await d.upshift(["update", "--to", "0.17.0", "--yes"])
            #expect(refused.exitCode == 64, "\(refused)")
            #expect(refused.stderr.contains("older than the running InvenTree 1.0.0"))
            #expect(try Data(contentsOf: d.url(".env")) == envBefore)
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: d.url(".upshift/runs").path)) ?? []
            #expect(runs.isEmpty)
        }
    }
}

/// Helpers shared by the InvenTree end-to-end tests (update, backup/restore, invoke upgrade).
enum InvenTreeE2E {
    static func seed(_ d: E2EDeployment, _ arguments: [String]) async throws {
        try await waitForServerStartup(d)
        let command = Command(E2EEnvironment.repositoryRoot.appendingPathComponent("compose/seed").path, [d.path] + arguments,
                              environment: d.engineEnvironment.merging(["COMPOSE_PROJECT_NAME": d.projectName]) { $1 },
                              workingDirectory: d.path, timeout: .seconds(300))
        try E2EOutput(try await E2EEnvironment.runner.run(command)).checked("compose/seed \(arguments.joined(separator: " "))")
    }

    /// The server's start-up writes `_PLUGIN_REGISTRY_HASH` (as InvenTree's plugin registry does): a digest
    /// taken before that lands would differ from every later one. Waits for it while the server runs.
    static func waitForServerStartup(_ d: E2EDeployment, deadline: Duration = .seconds(180)) async throws {
        let running = try await d.composeChecked(["ps", "--format", "{{.Service}}"]).stdout.split(whereSeparator: \.isNewline)
        guard running.contains("inventree-server") else { return }
        let end = ContinuousClock.now + deadline
        let sql = "SELECT count(*) FROM common_inventreesetting WHERE key = '_PLUGIN_REGISTRY_HASH'"
        while (try? await psql(d, sql)) != "1" {
            guard ContinuousClock.now < end else { throw E2EFailure("inventree-server of \(d.projectName) did not finish its start-up") }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// psql as the application user inside the database container (no password in argv).
    static func psql(_ d: E2EDeployment, _ sql: String, database: String = "inventree") async throws -> String {
        try await d.exec("inventree-db", ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", "pguser", "-d", database, "-c", sql])
            .checked("psql \(sql)").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `table=rows:md5` for every table in `public` (django_session included): equal lists mean equal data.
    /// Settings whose key starts with `_` are the application's internal state, not data
    /// (`_PLUGIN_REGISTRY_HASH` follows the plugins loaded at the last start): left out, as export does.
    static func tableDigests(_ d: E2EDeployment) async throws -> [String] {
        let tables = try await psql(d, "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
            .split(separator: " ").map(String.init)
        let sql = tables.map { table in
            "SELECT '\(table)=' || (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"\(table)\" t"
                + (table.hasPrefix("common_inventree") && table.hasSuffix("setting") ? " WHERE left(key, 1) <> '_'" : "") + ")"
        }.joined(separator: " UNION ALL ")
        return try await psql(d, sql).split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    /// The version `invoke version` reports through a throw-away server container.
    static func invokeVersion(_ d: E2EDeployment) async throws -> String? {
        let output = try await d.composeChecked(["run", "--rm", "-T", "--no-deps", "inventree-server", "invoke", "version"])
        return InvenTreeVersion.fromVersionOutput(output.stdout).map { "\($0)" }
    }

    static func expectRunning(_ d: E2EDeployment, _ services: [String], image: String? = nil) async throws {
        let output = try await d.composeChecked(["ps", "--format", "{{.Service}} {{.Image}} {{.State}}"]).stdout
        for service in services {
            let line = output.split(whereSeparator: \.isNewline).first { $0.hasPrefix(service + " ") }
            #expect(line?.hasSuffix(" running") == true, "\(service) not running: \(output)")
            if let image, service != "inventree-db" { #expect(line?.contains(" \(image) ") == true, "\(service): \(line ?? "")") }
        }
    }
}
