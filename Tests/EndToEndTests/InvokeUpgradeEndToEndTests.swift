import Foundation
import Testing
import UpshiftPlans
import UpshiftTestSupport

/// `pg-upgrade --method invoke` on the real test engine: PostgreSQL 15 -> 18 through InvenTree's own
/// backup/update/restore tasks (1.0.0 ships a PG18 client) with the data verified; and 0.17.0, whose image
/// ships a PG15 client, refused before anything changes.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct InvokeUpgradeEndToEndTests {
    @Test func inventree15To18ThroughInvokeTasks() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "invoke-upgrade") { d in
            try await d.up()
            try await InvenTreeE2E.seed(d, ["--megabytes", "1"])
            let before = try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("django_session=") }

            let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "invoke", "--yes"])
            #expect(upgrade.exitCode == 0, "\(upgrade)")
            // The test engine reaches no package index: update's steps without its pip install. An unattended
            // run no longer echoes the plan on stderr (`--progress plain`); the plan it ran is in plan.json.
            let runs = try FileManager.default.contentsOfDirectory(atPath: d.path + "/.upshift/runs").sorted()
            let lastRun = try #require(runs.last.flatMap { RunID($0) })
            let planText = try RunFolder(projectDirectory: d.path, runID: lastRun).readPlan().renderText()
            #expect(planText.contains("invoke migrate, invoke static") && planText.contains("package index pypi.org unreachable"), "\(planText.suffix(3000))")
            #expect(upgrade.stderr.contains("ok  verify"))
            // The restore named the file the backup step recorded, never "the newest".
            // Progress lines are in the audit log (plain progress keeps stderr short).
            let log = try await d.upshift(["log", "--run", lastRun.rawValue]).stdout
            let written = log.split(whereSeparator: \.isNewline).compactMap { line -> String? in
                guard let range = line.range(of: "invoke backup wrote ") else { return nil }
                return line[range.upperBound...].split(separator: " ").first.map(String.init)
            }.first { $0.hasSuffix(".psql.bin.gz") }
            let dbFile = try #require(written)
            #expect(log.contains("Restoring: \(dbFile)"))

            #expect(try await InvenTreeE2E.psql(d, "SHOW server_version_num").hasPrefix("18"))
            let after = try await InvenTreeE2E.tableDigests(d).filter { !$0.hasPrefix("django_session=") }
            #expect(after == before, "changed: \(Set(after).symmetricDifference(before).sorted())")
            #expect(try d.read("docker-compose.yml").contains("image: postgres:18"))
            try await InvenTreeE2E.expectRunning(d, ["inventree-db", "inventree-server", "inventree-worker"])
            #expect(try await InvenTreeE2E.invokeVersion(d) == "1.0.0")
        }
    }

    @Test func oldClientInTheAppImageIsRefusedUpFront() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "invoke-refuse") { d in
            try d.setEnv("INVENTREE_TAG", "0.17.0")
            try await d.up(["inventree-db"])
            let compose = try Data(contentsOf: d.url("docker-compose.yml"))
            let env = try Data(contentsOf: d.url(".env"))
            let refused = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "invoke", "--yes"])
            #expect(refused.exitCode == 64, "\(refused)")
            #expect(refused.stderr.contains("ships pg_dump 15, older than PostgreSQL 18"))
            #expect(try Data(contentsOf: d.url("docker-compose.yml")) == compose)
            #expect(try Data(contentsOf: d.url(".env")) == env)
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: d.url(".upshift/runs").path)) ?? []
            #expect(runs.isEmpty)
            #expect(try await InvenTreeE2E.psql(d, "SHOW server_version_num").hasPrefix("15"))
            #expect(!FileManager.default.fileExists(atPath: d.url("inventree-data").path + "/pgdb.pg15") )
        }
    }
}
