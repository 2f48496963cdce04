import Foundation
import Testing
@testable import UpshiftCore
import UpshiftTestSupport

/// The pure parts of the staged upgrade (`StagedUpgrade`, `PrivateCopy`): the free-space rule, reading
/// `df`, what the undo may delete, and when the rebuild-from-dump undo must leave an untouched old cluster
/// alone. The whole path runs in `StagedUpgradeEndToEndTests`.
struct StagedUpgradeTests {
    static let runID = RunID("20261129-001500-abcd")!

    @Test func theCopyNeedsItsSizePlusATenthAndAtLeast256MiB() {
        let mib: Int64 = 1 << 20
        #expect(PrivateCopy.required(clusterBytes: 100 * mib) == 356 * mib)
        #expect(PrivateCopy.required(clusterBytes: 10_000 * mib) == 11_000 * mib)
    }

    @Test func readsAvailableKiBFromPosixDf() {
        let df = """
            Filesystem     1024-blocks     Used Available Capacity Mounted on
            /dev/vda1        102687672 61234120  36194368      63% /upshift-data
            """
        #expect(PrivateCopy.availableKiB(df: df) == 36_194_368)
        #expect(PrivateCopy.availableKiB(df: "Filesystem 1024-blocks Used Available Capacity Mounted on") == nil)
        #expect(PrivateCopy.availableKiB(df: "x\n/dev/vda1 1 2") == nil)
    }

    @Test func discardDeletesOnlyWhatThisRunStaged() async throws {
        let runner = RecordingRunner(strict: true)
        let mount = DataLocation(kind: .volume, pgdata: "/d/pgdb", mountTarget: "/d", volumeName: "v", subpath: "pgdb")
        for path in ["pgdb", "pgdb.staged-other", "pgdb.copy-\(Self.runID.rawValue)/../pgdb", "pgdb.aside-\(Self.runID.rawValue)"] {
            await #expect(throws: UpshiftError.self, "\(path)") {
                try await StagedCluster.discard(relativePaths: [path], mount: mount, image: "postgres:15", runID: Self.runID.rawValue, runner: runner, progress: { _ in })
            }
        }
        #expect(runner.argvs.isEmpty, "a refused path still ran \(runner.argvs)")
    }

    /// `usable(folderPath:)` decides whether the rebuild-from-dump undo runs: only a staged cluster the
    /// window found current means pg_upgrade never touched the old cluster.
    @Test func stagedClusterIsUsedOnlyWhenTheWindowFoundTheSnapshotCurrent() async throws {
        let folder = NSTemporaryDirectory() + "upshift-staged-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try StagedCluster.usable(folderPath: folder) == nil)
        let staged = StagedCluster(relativePath: "pgdb.staged-x", systemIdentifier: "7", summary: "s")
        try PrivateJSON.write(staged, to: StagedCluster.path(folderPath: folder))
        var online = OnlinePreparation(visibility: "5:5:", snapshots: [:], sequences: [:], dumpFiles: [], globals: nil, verdict: nil)
        try PrivateJSON.write(online, to: folder + "/online.json")
        #expect(try StagedCluster.usable(folderPath: folder) == nil, "not checked by the window yet")
        online.verdict = .init(isCurrent: false, reason: "1 transaction(s) committed")
        try PrivateJSON.write(online, to: folder + "/online.json")
        #expect(try StagedCluster.usable(folderPath: folder) == nil)
        online.verdict = .init(isCurrent: true, reason: "no transaction since the snapshot")
        try PrivateJSON.write(online, to: folder + "/online.json")
        #expect(try StagedCluster.usable(folderPath: folder) == staged)

        // The rebuild undo then runs no command at all.
        let runner = RecordingRunner(strict: true)
        let payload = RebuildFromDumpPayload(
            handle: ComposeHandle(location: ComposeProjectLocation(directory: "/x", files: ["/x/c.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: []), projectName: "x"),
            service: "db", mount: DataLocation(kind: .volume, pgdata: "/d/pgdb", mountTarget: "/d", volumeName: "v", subpath: "pgdb"), image: "postgres:15",
            oldRelative: "pgdb.aside", unusableName: "pgdb.aside.unusable", dumpDirectory: folder + "/dump", runFolder: folder, readyTimeout: 60)
        let spec = try CompensationSpec(kind: RebuildFromDumpCompensator.kind, description: "d", typedPayload: payload)
        try await RebuildFromDumpCompensator(runner: runner).compensate(spec, state: .partial, context: CompensationContext(runID: Self.runID))
        #expect(runner.argvs.isEmpty, "\(runner.argvs)")
    }
}
