import Foundation
import Testing
import UpshiftCompose
import UpshiftCore
import UpshiftSupport
import UpshiftTestSupport

/// `status` gathering on a recorded engine: what is asked, and how answers become the report.
struct StatusCollectorTests {
    func project(_ fixture: String, runner: RecordingRunner, dbService: String? = nil) throws -> ComposeProject {
        let config = try ComposeFixtures.config(fixture)
        let dir = ComposeFixtures.directory(fixture)
        let location = ComposeProjectLocation(
            directory: dir, files: ["\(dir)/\(fixture == "inventree" ? "docker-compose.yml" : "compose.yaml")"],
            fileSource: .discovered, explicitProjectName: nil, envFiles: fixture == "inventree" ? ["\(dir)/.env"] : [])
        let cli = ComposeCLI(
            runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 5, minor: 6, patch: 1)),
            location: location, projectName: config.name)
        return ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions(dbService: dbService))
    }

    @Test func tagBumpedWithoutMigrationIsAMismatch() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "compose"], stdout: #"{"Name":"inventree-db","Service":"inventree-db","State":"exited","ExitCode":1}"#)
        runner.stub(["docker", "run"], stdout: "13\n")
        runner.stub(["docker", "run", "--rm", "--network", "none", "--log-driver", "none", "--user", "0:0", "--entrypoint", "du"], stdout: "2048\t/x\n")
        let status = try await StatusCollector(project: project("inventree", runner: runner), runner: runner, environment: [:]).collect()
        #expect(status.engineReachable)
        #expect(status.services.first { $0.name == "inventree-db" }?.states == ["exited"])
        #expect(status.services.first { $0.name == "inventree-server" }?.states == [])
        #expect(status.database.onDisk == .cluster(major: 13, pgVersion: "13"))
        #expect(status.database.sizeBytes == Int64(2048 * 1024))
        let mismatch = try #require(status.database.mismatch)
        #expect(mismatch.imageMajor == 15 && mismatch.dataMajor == 13)
        #expect(mismatch.advice[0].contains("postgres:13-bookworm"))
        #expect(mismatch.advice[1] == "then upgrade properly: upshift pg-upgrade --to 15")
        #expect(status.app.kind == .inventree && status.app.version == "0.17.0")
        #expect(status.database.imageSource?.kind == .envVariable(
            name: "INVENTREE_DB_TAG", envFile: "\(ComposeFixtures.directory("inventree"))/.env", line: 15))
    }

    @Test func matchingMajorHasNoMismatchAndPasswordStaysOut() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "compose"], stdout: "")
        runner.stub(["docker", "run"], stdout: "15\n")
        let status = try await StatusCollector(project: project("inventree", runner: runner), runner: runner, environment: [:]).collect()
        #expect(status.database.mismatch == nil)
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        #expect(!json.contains("pgpassword"))
    }

    @Test func noEngineMeansUnknownNotAnError() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "compose"], exit: 1, stderr: "Cannot connect to the Docker daemon")
        let status = try await StatusCollector(project: project("named-volume", runner: runner), runner: runner, environment: [:]).collect()
        #expect(!status.engineReachable)
        #expect(status.database.onDisk == nil)
        #expect(status.database.probeError?.contains("no docker engine") == true)
        #expect(!runner.argvs.contains { $0.contains("run") })
    }

    @Test func missingVolumeIsReported() async throws {
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "compose"], stdout: "")
        runner.stub(["docker", "volume", "inspect"], exit: 1, stderr: "Error: No such volume: named-volume_pgdata")
        let status = try await StatusCollector(project: project("named-volume", runner: runner), runner: runner, environment: [:]).collect()
        #expect(status.database.onDisk == .volumeMissing(name: "named-volume_pgdata"))
        #expect(status.database.mismatch == nil)
    }

    @Test func dbSelectionErrorsPropagate() async throws {
        let runner = RecordingRunner()
        await #expect(throws: UpshiftError.self) {
            try await StatusCollector(project: project("two-postgres", runner: runner), runner: runner).collect()
        }
    }
}
