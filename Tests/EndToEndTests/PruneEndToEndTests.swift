import Foundation
import Testing
import UpshiftCore
import UpshiftTestSupport
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftPlans
@testable import UpshiftSupport

/// `upshift prune` after a real upgrade: the listing names the moved-aside cluster and the dump with their sizes,
/// `--all --yes` removes them as an audited run of its own, the live cluster keeps serving its data, and a
/// rollback of the pruned run is refused by name.
@Suite(.serialized)
struct PruneEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func pruneAfterAnUpgradeKeepsTheLiveClusterAndBlocksRollback() async throws {
        try await E2EUpgrade.timed("prune after inventree 15->18") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "prune") { d in
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 1)
                let db = "inventree-db"
                let countsBefore = try await E2EUpgrade.tableCounts(d, service: db)

                let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                let runID = try #require(E2EUpgrade.runIDs(d).last)
                let aside = d.path + "/inventree-data/pgdb.pg15-\(runID)"
                let dump = d.path + "/backups/\(d.projectName)-pg15-\(runID)"
                #expect(FileManager.default.fileExists(atPath: aside + "/PG_VERSION") && FileManager.default.fileExists(atPath: dump))

                // The listing changes nothing and names both, with sizes, as needed by the rollback.
                let listing = try await d.upshift(["prune", "--json"])
                try #require(listing.exitCode == 0, "\(listing)")
                let items = try JSONDecoder().decode([KeptItem].self, from: Data(listing.stdout.utf8))
                let cluster = try #require(items.first { $0.kind == .oldCluster }, "\(listing.stdout)")
                #expect(cluster.location == aside && (cluster.sizeBytes ?? 0) > 1_000_000 && cluster.neededForRollback && cluster.isRemovable)
                let kept = try #require(items.first { $0.kind == .dump }, "\(listing.stdout)")
                #expect(kept.location == dump && (kept.sizeBytes ?? 0) > 0 && kept.neededForRollback)
                #expect(!items.contains { $0.location.hasSuffix("/pgdb") }, "the live cluster is never listed")
                let table = try await d.upshift(["prune"])
                #expect(table.exitCode == 0 && table.stdout.contains("old cluster") && table.stdout.contains("needed"), "\(table)")
                #expect(FileManager.default.fileExists(atPath: aside) && FileManager.default.fileExists(atPath: dump))

                // Not without confirmation.
                let unconfirmed = try await d.upshift(["prune", "--all"])
                #expect(unconfirmed.exitCode == 64, "\(unconfirmed)")
                #expect(FileManager.default.fileExists(atPath: aside))

                let prune = try await d.upshift(["prune", "--all", "--yes"])
                try #require(prune.exitCode == 0, "\(prune)")
                #expect(prune.stderr.contains("cannot be undone"), "\(prune.stderr)")
                #expect(!FileManager.default.fileExists(atPath: aside) && !FileManager.default.fileExists(atPath: dump))
                let pruneRun = try #require(E2EUpgrade.runIDs(d).last)
                #expect(pruneRun != runID)
                #expect(Set(try E2EUpgrade.journalSteps(d, pruneRun, type: "done")) == ["remove-old-cluster-\(runID)", "remove-dump-\(runID)"])
                let audit = try d.read(".upshift/audit.jsonl")
                #expect(audit.contains(pruneRun) && audit.contains("prune --all") && audit.contains("remove-old-cluster-\(runID)"))
                let trail = try AuditTrail.read(projectDirectory: d.path)
                #expect(trail.chain.isIntact, "\(trail.chain)")
                #expect(!trail.records(run: pruneRun).isEmpty)

                // The live 18 cluster still serves its data; nothing is left to prune.
                #expect(try await E2EUpgrade.serverMajor(d, service: db) == 18)
                #expect(try await E2EUpgrade.tableCounts(d, service: db) == countsBefore)
                let after = try await d.upshift(["prune", "--json"])
                #expect(after.exitCode == 0, "\(after)")
                let left = try JSONDecoder().decode([KeptItem].self, from: Data(after.stdout.utf8))
                #expect(left.isEmpty, "\(left)")

                // Rollback (the latest undoable run is the upgrade, not the prune) is refused by name.
                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 64, "\(rollback)")
                #expect(rollback.stderr.contains("cannot roll back run \(runID): its old cluster was deleted by `upshift prune` (run \(pruneRun))"), "\(rollback.stderr)")
                #expect(try await E2EUpgrade.serverMajor(d, service: db) == 18)
            }
        }
    }
}
