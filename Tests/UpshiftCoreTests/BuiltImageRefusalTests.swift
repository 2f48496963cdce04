import Foundation
import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// Services built from a Dockerfile and only tagged `postgres:15` (fixture `build-db`, captured from real
/// compose): `pg-upgrade` refuses before running anything — the database itself, or a sidecar it would
/// switch — naming the Dockerfile, its FROM line and the way out; `update` likewise for a built app.
struct BuiltImageRefusalTests {
    static let dockerfile = "FROM postgres:15\nRUN apt-get install -y postgresql-15-postgis-3\n"
    static let readFile: BuiltImageRefusal.ReadFile = { path in path == "/srv/build-db/db/Dockerfile" ? dockerfile : nil }

    func project(_ fixture: String, config: ComposeConfig? = nil, runner: RecordingRunner) throws -> ComposeProject {
        let config = try config ?? ComposeFixtures.config(fixture)
        let dir = ComposeFixtures.directory(fixture)
        let file = fixture == "inventree" ? "docker-compose.yml" : "compose.yaml"
        let location = ComposeProjectLocation(directory: dir, files: ["\(dir)/\(file)"], fileSource: .discovered, explicitProjectName: nil,
                                              envFiles: fixture == "inventree" ? ["\(dir)/.env"] : [])
        let cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 5, minor: 6, patch: 1)), location: location, projectName: config.name)
        return ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions())
    }

    @Test func composeBuildIsDecodedWithItsDockerfile() throws {
        let config = try ComposeFixtures.config("build-db")
        let db = try #require(config.services["db"]?.build)
        #expect(db == ComposeBuild(context: "/srv/build-db/db", dockerfile: "Dockerfile"))
        #expect(db.dockerfilePath == "/srv/build-db/db/Dockerfile")
        let backup = try #require(config.services["backup"]?.build)
        #expect(backup.dockerfileInline == "FROM postgres:15-alpine\n" && backup.dockerfilePath == nil)
        #expect(backup.fromLines(readFile: { _ in nil }) == ["FROM postgres:15-alpine"])
        #expect(try ComposeFixtures.config("backup-sidecar").services.values.allSatisfy { $0.build == nil })
        // A git context is not a host folder; an absolute dockerfile is taken as it is.
        #expect(ComposeBuild(context: "https://github.com/x/y.git#main:db").dockerfilePath == nil)
        #expect(ComposeBuild(context: "/a", dockerfile: "/b/Dockerfile.pg").dockerfilePath == "/b/Dockerfile.pg")
    }

    @Test func fromLinesOfAMultiStageDockerfile() {
        let text = "# syntax=docker/dockerfile:1\nARG PG=15\nfrom postgres:${PG} AS base\n  FROM\tbase\nRUN echo FROM x\n"
        let build = ComposeBuild(context: "/c")
        #expect(build.fromLines(readFile: { $0 == "/c/Dockerfile" ? text : nil }) == ["from postgres:${PG} AS base", "FROM\tbase"])
        #expect(build.fromLines(readFile: { _ in nil }).isEmpty)
    }

    @Test func builtDatabaseIsRefusedWithTheDockerfileAndTheWayOut() throws {
        let config = try ComposeFixtures.config("build-db")
        let database = try DatabaseService.select(from: config)
        #expect(database.service == "db" && database.sidecars == ["backup"])
        let refusal = try #require(BuiltImageRefusal.pgUpgrade(database: database, config: config, targetMajor: 18, readFile: Self.readFile))
        #expect(refusal.exitCode == .usage)
        #expect(refusal.message.hasPrefix("service db is built from /srv/build-db/db/Dockerfile (`FROM postgres:15`)"), "\(refusal.message)")
        #expect(refusal.message.contains("`image: postgres:15` only names the result of `build:`") && refusal.message.contains("switch that tag to postgres:18"))
        let hint = try #require(refusal.hint)
        #expect(hint.contains("remove `build:` from db") && hint.contains("upshift pg-upgrade --to 18"))
        #expect(hint.contains("change the FROM line in /srv/build-db/db/Dockerfile to postgres:18") && hint.contains("docker compose up -d --build db"))
        #expect(hint.hasSuffix("; nothing was changed"))
        #expect(!refusal.message.contains("build-pw") && !hint.contains("build-pw"))
    }

    @Test func builtSidecarThatWouldBeSwitchedIsRefused() throws {
        var config = try ComposeFixtures.config("build-db")
        config.services["db"]?.build = nil
        let database = try DatabaseService.select(from: config)
        let refusal = try #require(BuiltImageRefusal.pgUpgrade(database: database, config: config, targetMajor: 18, readFile: Self.readFile))
        #expect(refusal.message.hasPrefix("sidecar backup is built from an inline Dockerfile (dockerfile_inline) (`FROM postgres:15-alpine`)"), "\(refusal.message)")
        #expect(refusal.message.contains("switch its tag to postgres:18-alpine with db"))
        #expect(refusal.hint?.contains("remove `build:` from backup") == true)
        // A sidecar already at the target major is left as it is, so its build is no concern.
        config.services["backup"]?.image = "postgres:18-alpine"
        #expect(BuiltImageRefusal.pgUpgrade(database: try DatabaseService.select(from: config), config: config, targetMajor: 18, readFile: Self.readFile)?.message == nil)
        let plain = try ComposeFixtures.config("backup-sidecar")
        #expect(BuiltImageRefusal.pgUpgrade(database: try DatabaseService.select(from: plain), config: plain, targetMajor: 18)?.message == nil)
    }

    @Test func pgUpgradePreflightRefusesBeforeRunningAnything() async throws {
        let runner = RecordingRunner(strict: true)
        let project = try project("build-db", runner: runner)
        let preflight = PgUpgradePreflight(project: project, options: PgUpgradeOptions(targetMajor: 18), runner: runner,
                                           runID: RunID("20261128-120000-abcd")!, environment: [:])
        await #expect(throws: UpshiftError.self) { _ = try await preflight.run() }
        do {
            _ = try await preflight.run()
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage && error.message.contains("service db is built from /srv/build-db/db/Dockerfile"), "\(error)")
        }
        #expect(runner.commands.isEmpty, "ran \(runner.argvs) before refusing")
    }

    @Test func builtApplicationIsRefusedByUpdate() async throws {
        var config = try ComposeFixtures.config("inventree")
        config.services["inventree-server"]?.build = ComposeBuild(context: "/srv/inventree/server", dockerfile: "Dockerfile")
        let runner = RecordingRunner(strict: true)
        let project = try project("inventree", config: config, runner: runner)
        do {
            _ = try await AppUpdatePreflight(project: project, options: AppUpdateOptions(targetVersion: "1.0.0"), runner: runner,
                                             runID: RunID("20261128-120000-abcd")!, environment: [:]).run()
            Issue.record("update of a built server was not refused")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage)
            #expect(error.message.hasPrefix("service inventree-server is built from /srv/inventree/server/Dockerfile"), "\(error.message)")
            #expect(error.message.contains("switch that tag to inventree/inventree:1.0.0"))
        }
        #expect(runner.commands.isEmpty, "ran \(runner.argvs) before refusing")
    }
}
