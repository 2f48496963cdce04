import Foundation
import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// The pure parts of the staged upgrade (`StagedUpgrade`, `PrivateCopy`): the free-space rule, reading
/// `df` and what the undo may delete. Which branch the window takes is
/// `CheckSnapshotStep`'s (see `DecisionTests` for the executor's side); the whole path runs in
/// `StagedUpgradeEndToEndTests`.
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
}

/// The pure parts of the standby path (`StandbyServer`, `PromoteStandbyStep`): the pg_controldata fields the
/// proof reads, and the superuser's name in `primary_conninfo`. The path itself runs in
/// `StagedUpgradeEndToEndTests.writingApplicationIsFollowedByAStandby`.
struct StandbyPathTests {
    @Test func readsTheFieldsTheProofNeedsFromPgControldata() {
        let output = """
            pg_control version number:            1300
            Database system identifier:           7441234567890123456
            Database cluster state:               shut down
            Latest checkpoint location:           0/3000028
            Latest checkpoint's REDO location:    0/3000028
            """
        #expect(StopDatabaseStep.controlField("Latest checkpoint location", pgControldata: output) == "0/3000028")
        #expect(StopDatabaseStep.controlField("Database system identifier", pgControldata: output) == "7441234567890123456")
        #expect(StopDatabaseStep.clusterState(pgControldata: output) == "shut down")
        #expect(StopDatabaseStep.controlField("Latest checkpoint", pgControldata: output) == nil, "a label must match whole")
        #expect(StopDatabaseStep.clusterState(pgControldata: "") == "unknown")
    }

    @Test func quotesTheSuperuserInPrimaryConninfo() {
        #expect(StandbyServer.conninfoValue("postgres") == "'postgres'")
        #expect(StandbyServer.conninfoValue("o'brien") == "'o\\'brien'")
        #expect(StandbyServer.conninfoValue("a\\b c") == "'a\\\\b c'")
    }
}
