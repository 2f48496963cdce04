import Foundation
import Testing
import UpshiftTestSupport

/// Issue 18: what differs between InvenTree releases, driven through the stand-in tags on the real engine.
/// One 0.17.0 deployment on a PostgreSQL 16 server (the image's client is 15, older than the server, as the
/// real 0.17.0 image's 13 is older than its users' 15): the known-empty `--include-permissions` export is
/// refused before anything is written, and `update` leaves out the `invoke backup` that would abort on the
/// version mismatch, backs up with upshift's own dump instead, and succeeds.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct InvenTreeReleasesEndToEndTests {
    @Test func olderClientAndKnownEmptyExportOn017() async throws {
        try await E2EUpgrade.timed("inventree releases: 0.17.0 on PostgreSQL 16") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "it-releases") { d in
                try d.setEnv("INVENTREE_TAG", "0.17.0")
                let compose = try d.read("docker-compose.yml")
                try #require(compose.contains("image: postgres:15\n"))
                try d.write("docker-compose.yml", compose.replacingOccurrences(of: "image: postgres:15\n", with: "image: postgres:16\n"))
                try await d.up()
                try await InvenTreeE2E.seed(d, ["--megabytes", "1"])
                // The trap is real: the image's own backup fails against this server.
                let own = try await d.compose(["run", "--rm", "--no-deps", "inventree-server", "invoke", "backup"], timeout: .seconds(300))
                #expect(own.exitCode != 0 && (own.stdout + own.stderr).contains("server version mismatch"), "\(own)")

                // 1. --include-permissions on 0.17: refused, nothing written.
                let file = d.path + "/records.json"
                let refused = try await d.upshift(["export", "-f", file, "--include-permissions"])
                #expect(refused.exitCode == 64, "\(refused)")
                #expect(refused.stderr.contains("writes an empty export ([])"), "\(refused.stderr)")
                #expect(refused.stderr.contains("export without --include-permissions"))
                #expect(!FileManager.default.fileExists(atPath: file))
                // Without it the export holds the records, and no `_` setting.
                let export = try await d.upshift(["export", "-f", file])
                #expect(export.exitCode == 0, "\(export)")
                let records = try String(contentsOfFile: file, encoding: .utf8)
                #expect(records.contains("\"part.part\"") && !records.contains("_PLUGIN_REGISTRY_HASH"))
                #expect(try await InvenTreeE2E.psql(d, "SELECT count(*) FROM common_inventreesetting WHERE key = '_PLUGIN_REGISTRY_HASH'") == "1")

                // 2. update 0.17.0 -> 1.0.0: the plan says why invoke backup is left out; the update goes through.
                let parts = try await InvenTreeE2E.psql(d, "SELECT count(*) FROM part_part")
                let dry = try await d.upshift(["update", "--to", "1.0.0", "--dry-run"])
                #expect(dry.exitCode == 0, "\(dry)")
                #expect(dry.stdout.contains("invoke backup left out: inventree/inventree:0.17.0 ships pg_dump 15, older than the PostgreSQL 16 server"), "\(dry.stdout)")
                #expect(dry.stdout.contains("Back up: pg_dump -Fc") && !dry.stdout.contains("invoke backup (names recorded)"))
                let updated = try await d.upshift(["update", "--to", "1.0.0", "--yes"])
                #expect(updated.exitCode == 0, "\(updated)")
                #expect(updated.stderr.contains("invoke backup left out"), "\(updated.stderr.suffix(3000))")
                #expect(try await InvenTreeE2E.invokeVersion(d) == "1.0.0")
                #expect(try await InvenTreeE2E.psql(d, "SELECT count(*) FROM part_part") == parts)
                try await InvenTreeE2E.expectRunning(d, ["inventree-db", "inventree-server", "inventree-worker"], image: "inventree/inventree:1.0.0")
                // And back: rollback restores upshift's dump and the old tag.
                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 0, "\(rollback)")
                #expect(try await InvenTreeE2E.invokeVersion(d) == "0.17.0")
                #expect(try await InvenTreeE2E.psql(d, "SELECT count(*) FROM part_part") == parts)
            }
        }
    }

    /// Two copies of InvenTree's own compose file (`container_name: inventree-db`, …) cannot both be up: transfer
    /// says so before it touches either (neither needs to run for the refusal), and how to rename the target's.
    @Test func transferBetweenTwoUpstreamFilesIsRefusedWithTheWayOut() async throws {
        try await E2EDeployment.with(sample: "upstream/inventree", namePrefix: "it-names-src") { source in
            try await E2EDeployment.with(sample: "upstream/inventree", namePrefix: "it-names-dst") { target in
                for d in [source, target] {
                    try d.write(".env", try d.read(".env").replacingOccurrences(of: "COMPOSE_PROJECT_NAME=inventree", with: "COMPOSE_PROJECT_NAME=\(d.projectName)"))
                }
                let before = E2EUpgrade.hashTree(target.path, excluding: [".upshift"])
                let refused = try await source.upshift(["transfer", "--to", target.path, "--include-media", "--yes"])
                #expect(refused.exitCode == 64, "\(refused)")
                #expect(refused.stderr.contains("both name their containers inventree-cache, inventree-db, inventree-proxy, inventree-server, inventree-worker"), "\(refused.stderr)")
                #expect(refused.stderr.contains("give the target other names"))
                let changes = E2EUpgrade.treeChanges(before, E2EUpgrade.hashTree(target.path, excluding: [".upshift"]))   // the audit log records the refusal
                #expect(changes.isEmpty, "\(changes)")
                #expect(E2EUpgrade.runIDs(target).isEmpty)
            }
        }
    }
}
