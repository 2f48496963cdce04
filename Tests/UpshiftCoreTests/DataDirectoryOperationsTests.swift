import Testing
import UpshiftCompose
import UpshiftSupport
import UpshiftTestSupport

/// Helper-container commands and how their answers are read (the real engine is covered end to end).
struct DataDirectoryOperationsTests {
    let bind = DataLocation(
        kind: .bind, pgdata: "/var/lib/postgresql/data/pgdb", mountTarget: "/var/lib/postgresql/data",
        hostPath: "/srv/inv/data", subpath: "pgdb")
    let volume = DataLocation(
        kind: .volume, pgdata: "/var/lib/postgresql/18/docker", mountTarget: "/var/lib/postgresql", volumeName: "shop-pgdata",
        volumeKey: "pg", subpath: "18/docker")

    @Test func readsPGVersionFromABindMount() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "run"], stdout: "15\n")
        let ops = DataDirectoryOperations(runner: runner, image: "postgres:15.8-bookworm")
        #expect(try await ops.probe(bind) == .cluster(major: 15, pgVersion: "15"))
        #expect(runner.argvs == [[
            "docker", "run", "--rm", "--network", "none", "--log-driver", "none", "--user", "0:0", "--entrypoint", "cat",
            "--mount", "type=bind,source=/srv/inv/data,target=/upshift-data,readonly",
            "--label", "com.upshift.helper=true", "postgres:15.8-bookworm", "/upshift-data/pgdb/PG_VERSION",
        ]])
    }

    @Test func namedVolumeIsInspectedBeforeMounting() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "volume", "inspect"], stdout: "shop-pgdata\n")
        runner.stub(["docker", "run"], stdout: "18\n")
        let ops = DataDirectoryOperations(runner: runner, image: "postgres:18")
        #expect(try await ops.probe(volume).major == 18)
        #expect(runner.argvs[0] == ["docker", "volume", "inspect", "--format", "{{.Name}}", "shop-pgdata"])
        #expect(runner.argvs[1].contains("shop-pgdata:/upshift-data:ro"))
        #expect(runner.argvs[1].last == "/upshift-data/18/docker/PG_VERSION")
    }

    @Test func missingVolumeIsReportedAndNeverCreated() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "volume", "inspect"], exit: 1, stderr: "Error response from daemon: get shop-pgdata: no such volume\n")
        let ops = DataDirectoryOperations(runner: runner, image: "postgres:18")
        #expect(try await ops.probe(volume) == .volumeMissing(name: "shop-pgdata"))
        #expect(try await ops.size(volume) == nil)
        #expect(!runner.argvs.contains { $0.contains("run") })
    }

    @Test func missingBindSourceEmptyAndNonCluster() async throws {
        let missing = RecordingRunner(strict: true)
        missing.stub(["docker", "run"], exit: 125, stderr: "docker: Error response from daemon: invalid mount config for type \"bind\": bind source path does not exist: /srv/inv/data\n")
        #expect(try await DataDirectoryOperations(runner: missing, image: "p").probe(bind) == .directoryMissing(path: "/srv/inv/data"))

        let empty = RecordingRunner(strict: true)
        empty.stub(["docker", "run"], exit: 1, stderr: "cat: can't open: No such file or directory\n")
        empty.stub(["docker", "run", "--rm", "--network", "none", "--log-driver", "none", "--user", "0:0", "--entrypoint", "ls"], stdout: "")
        #expect(try await DataDirectoryOperations(runner: empty, image: "p").probe(bind) == .empty(path: "/srv/inv/data/pgdb"))

        let other = RecordingRunner(strict: true)
        other.stub(["docker", "run"], exit: 1)
        other.stub(["docker", "run", "--rm", "--network", "none", "--log-driver", "none", "--user", "0:0", "--entrypoint", "ls"], stdout: "readme.txt\n")
        #expect(try await DataDirectoryOperations(runner: other, image: "p").probe(bind) == .notACluster(path: "/srv/inv/data/pgdb"))

        let gone = RecordingRunner(strict: true)
        gone.stub(["docker", "run"], exit: 1)
        #expect(try await DataDirectoryOperations(runner: gone, image: "p").probe(bind) == .directoryMissing(path: "/srv/inv/data/pgdb"))
    }

    @Test func engineDownIsAnError() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "run"], exit: 125, stderr: "docker: Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?\n")
        let error = await #expect(throws: UpshiftError.self) { try await DataDirectoryOperations(runner: runner, image: "p").probe(bind) }
        #expect(error?.exitCode == .unavailable)
    }

    @Test func sizeOwnershipAndNonPersistent() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "run"], stdout: "40960\t/upshift-data/pgdb\n")
        let ops = DataDirectoryOperations(runner: runner, image: "p")
        #expect(try await ops.size(bind) == 40960 * 1024)
        runner.stub(["docker", "run"], stdout: "999 999 700\n")
        #expect(try await ops.ownership(bind, relativePath: "pgdb") == FileOwnership(uid: 999, gid: 999, mode: 0o700))
        #expect(try await ops.probe(DataLocation(kind: .anonymous, pgdata: "/x")) == .notPersistent)
    }

    static let moveHelper = ["docker", "run", "--rm", "--network", "none", "--log-driver", "none", "--user", "0:0", "--entrypoint", "sh"]

    @Test func moveAsideRenamesInsideTheMountAndVerifiesInOneContainer() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(Self.moveHelper, stdout: "999 999 700\n999 999 700\n")
        let ops = DataDirectoryOperations(runner: runner, image: "postgres:15")
        let owner = try await ops.moveAside(bind, from: "pgdb", to: "pgdb.pg15-run1")
        #expect(owner == FileOwnership(uid: 999, gid: 999, mode: 0o700))
        #expect(runner.argvs.count == 1, "one helper container: \(runner.argvs)")
        let move = try #require(runner.argvs.first)
        // The paths are positional parameters after a constant program: never part of the shell text.
        #expect(move.suffix(5) == ["-c", DataDirectoryOperations.moveScript, "upshift-move", "/upshift-data/pgdb", "/upshift-data/pgdb.pg15-run1"])
        #expect(!DataDirectoryOperations.moveScript.contains("pgdb"))
        #expect(move.contains("type=bind,source=/srv/inv/data,target=/upshift-data"))  // read-write
    }

    @Test func moveAsideNoticesAChangedOwner() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(Self.moveHelper, stdout: "999 999 700\n0 0 755\n")
        await #expect(throws: UpshiftError.self) {
            try await DataDirectoryOperations(runner: runner, image: "p").moveAside(bind, from: "pgdb", to: "old")
        }
    }

    @Test(arguments: [(3, "does not exist"), (4, "already exists; refusing to overwrite it"), (6, "failed: mv: cannot move"), (7, "not as expected")])
    func moveAsideExplainsEachRefusal(exit: Int32, message: String) async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(Self.moveHelper, exit: exit, stderr: exit == 6 ? "mv: cannot move" : "")
        let error = await #expect(throws: UpshiftError.self) {
            try await DataDirectoryOperations(runner: runner, image: "p").moveAside(bind, from: "pgdb", to: "old")
        }
        #expect(error?.message.contains(message) == true, "\(String(describing: error?.message))")
    }

    @Test func moveAsideRefusesTheMountRoot() async throws {
        let ops = DataDirectoryOperations(runner: RecordingRunner(strict: true), image: "p")
        await #expect(throws: UpshiftError.self) { try await ops.moveAside(bind, from: "", to: "x") }
    }

    @Test func parentForMoveAside() {
        let root = DataLocation(kind: .bind, pgdata: "/var/lib/postgresql/data", mountTarget: "/var/lib/postgresql/data", hostPath: "/srv/app/pgdata")
        let parent = root.parentForMoveAside
        #expect(parent?.location.hostPath == "/srv/app" && parent?.name == "pgdata")
        #expect(DataLocation(kind: .volume, pgdata: "/d", mountTarget: "/d", volumeName: "v").parentForMoveAside == nil)
        #expect(bind.parentForMoveAside?.name == "pgdb")
    }

    @Test func commaInBindPathIsQuoted() {
        let odd = DataLocation(kind: .bind, pgdata: "/d", mountTarget: "/d", hostPath: "/srv/a,b")
        let argv = DataDirectoryOperations(runner: RecordingRunner(), image: "p").helperCommand(odd, tool: "cat", [], readOnly: true).argv
        #expect(argv.contains("type=bind,\"source=/srv/a,b\",target=/upshift-data,readonly"))
    }
}

extension DataDirectoryOperationsTests {
    @Test func helperImagePrefersOneTheEngineHas() async {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "image", "inspect"], exit: 1, stderr: "Error: No such image: postgres:18")
        runner.stub(["docker", "image", "inspect", "--format", "{{.Id}}", "postgres:15"], stdout: "sha256:1\n")
        #expect(await DataDirectoryOperations.chooseHelperImage(["postgres:18", "postgres:15"], runner: runner) == "postgres:15")
        let none = RecordingRunner()
        none.stub(["docker", "image", "inspect"], exit: 1)
        #expect(await DataDirectoryOperations.chooseHelperImage(["postgres:18", "postgres:18", "postgres:15"], runner: none) == "postgres:18")
        #expect(none.argvs.count == 2)
    }
}
