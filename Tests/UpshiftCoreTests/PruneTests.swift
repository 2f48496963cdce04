import Foundation
import Testing
import UpshiftTestSupport
@testable import UpshiftCore
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftPlans
@testable import UpshiftSupport

/// `upshift prune`'s inventory and refusals, from journals written here and a recording runner for the engine.
struct PruneTests {
    static let upgradeRun = RunID("20261201-100000-aaaa")!
    static let pruneRun = RunID("20261201-110000-bbbb")!
    static let mount = DataLocation(kind: .bind, pgdata: "/var/lib/postgresql/data/pgdb", mountTarget: "/var/lib/postgresql/data", hostPath: "/srv/inv/data", subpath: "pgdb")

    /// A pg-upgrade run as its journal records it: the move aside (with its undo data), the dump, and the verdict.
    static func writeUpgradeRun(_ dir: String, finished: Bool = true) throws {
        let folder = try RunFolder.create(projectDirectory: dir, runID: upgradeRun)
        let journal = try folder.createJournal()
        defer { journal.close() }
        let payload = DataRestorePayload(
            mount: mount, image: "postgres:15", original: "pgdb", aside: "pgdb.pg15-\(upgradeRun)", newPath: "pgdb",
            failedName: "pgdb.failed-\(upgradeRun)")
        let spec = try CompensationSpec(kind: DataRestoreCompensator.kind, description: "rename back", typedPayload: payload)
        let dumpDirectory = dir + "/backups/inv-pg15-\(upgradeRun)"
        try FileManager.default.createDirectory(atPath: dumpDirectory, withIntermediateDirectories: true)
        try Data(repeating: 1, count: 4096).write(to: URL(fileURLWithPath: dumpDirectory + "/db-1.sql"))
        _ = try journal.append(JournalRecord(type: .runStarted, run: upgradeRun, command: "pg-upgrade --to 18"))
        _ = try journal.append(JournalRecord(type: .intent, step: "dump", kind: "pg.dump", title: "Dump"))
        _ = try journal.append(JournalRecord(type: .done, step: "dump", kind: "pg.dump", outcome: StepOutcome(data: .string(dumpDirectory))))
        _ = try journal.append(JournalRecord(type: .intent, step: "move-data-aside", kind: "pg.move-data-aside", title: "Move", compensation: spec))
        guard finished else { return }
        _ = try journal.append(JournalRecord(type: .done, step: "move-data-aside", kind: "pg.move-data-aside", outcome: StepOutcome(data: .string("pgdb.pg15-\(upgradeRun)"))))
        _ = try journal.append(JournalRecord(type: .runFinished, result: RunOutcome(status: .succeeded, rollback: .notNeeded)))
    }

    static func runner(asideKiB: Int = 2048) -> RecordingRunner {
        let runner = RecordingRunner()
        runner.stub(["docker", "run"], stdout: "\(asideKiB)\t/upshift-data/pgdb.pg15-\(upgradeRun)\n")
        runner.stub(["docker", "ps"], stdout: "abc123\tupshift-upgrade-\(upgradeRun)\t\(upgradeRun)\ndef456\tother-container\t\n")
        return runner
    }

    static func inventory(_ dir: String, runner: RecordingRunner, live: DataLocation = mount) -> PruneInventory {
        PruneInventory(projectDirectory: dir, liveLocations: [live], helperImage: "postgres:18", runner: runner)
    }

    @Test func listsTheMovedAsideClusterTheDumpAndLeftContainersWithSizes() async throws {
        try await withPlanTempDirectory { dir in
            try Self.writeUpgradeRun(dir)
            let runner = Self.runner()
            let items = try await Self.inventory(dir, runner: runner).collect()
            #expect(items.map(\.kind) == [.containers, .dump, .oldCluster], "\(items)")
            let cluster = try #require(items.first { $0.kind == .oldCluster })
            #expect(cluster.location == "/srv/inv/data/pgdb.pg15-\(Self.upgradeRun)")
            #expect(cluster.sizeBytes == Int64(2_097_152))
            #expect(cluster.neededForRollback && cluster.isRemovable)
            #expect(cluster.runCommand == "pg-upgrade --to 18")
            let dump = try #require(items.first { $0.kind == .dump })
            #expect(dump.sizeBytes == 4096 && dump.neededForRollback)
            let containers = try #require(items.first { $0.kind == .containers })
            #expect(containers.containerNames == ["upshift-upgrade-\(Self.upgradeRun)"])
            // One read-only helper of the db image measured both candidates (old and failed) in the mount.
            let helpers = runner.argvs.filter { $0.starts(with: ["docker", "run"]) }
            #expect(helpers.count == 1)
            #expect(helpers.first?.contains("type=bind,source=/srv/inv/data,target=/upshift-data,readonly") == true)
            #expect(helpers.first?.suffix(2) == ["/upshift-data/pgdb.pg15-\(Self.upgradeRun)", "/upshift-data/pgdb.failed-\(Self.upgradeRun)"])
        }
    }

    @Test func theLiveClusterIsNeverRemovable() async throws {
        try await withPlanTempDirectory { dir in
            try Self.writeUpgradeRun(dir)
            // Someone pointed compose at the moved-aside directory: it is the live cluster now.
            var live = Self.mount
            live.subpath = "pgdb.pg15-\(Self.upgradeRun)"
            let inventory = Self.inventory(dir, runner: Self.runner(), live: live)
            let items = try await inventory.collect()
            let cluster = try #require(items.first { $0.kind == .oldCluster })
            #expect(cluster.refusal?.contains("upshift never removes the live cluster") == true)
            let planner = PrunePlanner(inventory: inventory, items: items, runID: Self.pruneRun, command: "prune --all")
            let selected = try planner.select(.all)
            #expect(!selected.remove.contains { $0.kind == .oldCluster })
            #expect(selected.refused.map(\.0.kind) == [.oldCluster])
            // A live bind seen as the mount itself (PGDATA the bind root) equals its parent-relative form too.
            let asBindRoot = DataLocation(kind: .bind, pgdata: "/var/lib/postgresql/data", mountTarget: "/var/lib/postgresql/data", hostPath: "/srv/inv/data/pgdb.pg15-\(Self.upgradeRun)")
            #expect(Self.inventory(dir, runner: Self.runner(), live: asBindRoot).refusal(for: cluster) != nil)
            // The step checks again right before deleting.
            let step = RemoveKeptItemStep(item: { var item = cluster; item.refusal = nil; return item }(), inventory: inventory, redactor: Redactor())
            await #expect(throws: UpshiftError.self) { _ = try await step.run(StepContext(runID: Self.pruneRun)) }
        }
    }

    @Test func refusesWhileARunIsOpen() async throws {
        try await withPlanTempDirectory { dir in
            try Self.writeUpgradeRun(dir, finished: false)
            #expect(throws: UpshiftError.self) { try PrunePlanner.refuseOpenRun(projectDirectory: dir) }
        }
        try await withPlanTempDirectory { dir in
            try Self.writeUpgradeRun(dir)
            try PrunePlanner.refuseOpenRun(projectDirectory: dir)
        }
    }

    @Test func onlyNamesARunGaveAreRemovable() {
        let run = Self.upgradeRun
        #expect(KeptItem.hasRunName("pgdb.pg15-\(run)", kind: .oldCluster, runID: run))
        #expect(KeptItem.hasRunName("15/docker.pg15-\(run)", kind: .oldCluster, runID: run))
        #expect(!KeptItem.hasRunName("pgdb", kind: .oldCluster, runID: run))
        #expect(!KeptItem.hasRunName(".pg15-\(run)", kind: .oldCluster, runID: run))
        #expect(!KeptItem.hasRunName("pgdb.pgx-\(run)", kind: .oldCluster, runID: run))
        #expect(!KeptItem.hasRunName("../pgdb.pg15-\(run)", kind: .oldCluster, runID: run))
        #expect(!KeptItem.hasRunName("pgdb.pg15-\(Self.pruneRun)", kind: .oldCluster, runID: run))
        #expect(KeptItem.hasRunName("pgdb.failed-\(run)", kind: .failedCluster, runID: run))
        #expect(!KeptItem.hasRunName("", kind: .staged, runID: run))
    }

    @Test func planSaysItCannotBeUndoneAndRemovesInAHelper() async throws {
        try await withPlanTempDirectory { dir in
            try Self.writeUpgradeRun(dir)
            let inventory = Self.inventory(dir, runner: Self.runner())
            let planner = PrunePlanner(inventory: inventory, items: try await inventory.collect(), runID: Self.pruneRun, command: "prune --all")
            let plan = try planner.plan(try planner.select(.all).remove).plan
            try plan.validate()
            let text = plan.renderText()
            #expect(text.contains("deleted for good: a prune cannot be undone"))
            #expect(text.contains("run \(Self.upgradeRun) can no longer be rolled back"))
            #expect(text.contains("undo: none possible (cannot be undone)"))
            #expect(!text.contains("none needed"))
            let step = try #require(plan.step(id: "remove-old-cluster-\(Self.upgradeRun)"))
            #expect(step.mutates && step.compensation == nil && step.kind.rawValue == "prune.remove.old-cluster")
            #expect(step.commands.first?.contains("type=bind,source=/srv/inv/data,target=/upshift-data ") == true)
            // The whole plan, as `prune --all --dry-run` prints it, kept as a golden file with the other planners'.
            GoldenFile.check(text.replacingOccurrences(of: dir, with: "/srv/inv-project"), "prune-all.txt")
        }
    }

    @Test func rollbackOfAPrunedRunRefusesByName() async throws {
        try await withPlanTempDirectory { dir in
            try Self.writeUpgradeRun(dir)
            let upgrade = RunFolder(projectDirectory: dir, runID: Self.upgradeRun)
            let rollback = Rollback(folder: upgrade, registry: CompensationRegistry())
            try rollback.refuseIfPruned()
            let folder = try RunFolder.create(projectDirectory: dir, runID: Self.pruneRun)
            let journal = try folder.createJournal()
            _ = try journal.append(JournalRecord(type: .runStarted, run: Self.pruneRun, command: "prune --all"))
            _ = try journal.append(JournalRecord(
                type: .intent, step: "remove-old-cluster-\(Self.upgradeRun)", kind: "prune.remove.old-cluster", title: "Remove the old cluster"))
            journal.close()
            #expect(PruneRecord.latestUndoableRun(projectDirectory: dir)?.runID == Self.upgradeRun)
            #expect(PruneRecord.removals(projectDirectory: dir).map(\.runID) == [Self.upgradeRun])
            let error = try #require(throws: UpshiftError.self) { try rollback.refuseIfPruned() }
            #expect(error.message.contains("its old cluster was deleted by `upshift prune` (run \(Self.pruneRun))"), "\(error)")
            // The prune run itself is not a run that is open, nor one whose leftovers are listed.
            try PrunePlanner.refuseOpenRun(projectDirectory: dir)
        }
    }
}
