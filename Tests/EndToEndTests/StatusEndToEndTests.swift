import Foundation
import Testing
import UpshiftCore

/// `upshift status` as a user runs it: the built binary against real compose projects on the test engine
/// (`compose/testenv/up`), and the bad inputs that must end in one clear line and a non-zero exit.
///
/// Enabled when `UPSHIFT_BIN` names the built binary (scripts/test sets it); the scenarios that start
/// containers also need `DOCKER_HOST` (the test engine with the postgres images).
@Suite(.serialized, .enabled(if: StatusE2E.binary != nil))
struct StatusEndToEndTests {
    // MARK: - Real clusters

    @Test(.enabled(if: StatusE2E.engineAvailable))
    func bindMountInventreeLayoutThenTagBumpedWithoutMigration() async throws {
        try await StatusE2E.withProject(files: [
            "docker-compose.yml": """
                services:
                  inventree-db:
                    image: postgres:${INVENTREE_DB_TAG:-13}
                    environment:
                      - PGDATA=/var/lib/postgresql/data/pgdb
                      - POSTGRES_USER=pguser
                      - POSTGRES_PASSWORD=${INVENTREE_DB_PASSWORD:?set it}
                      - POSTGRES_DB=inventree
                    volumes:
                      - ./inventree-data:/var/lib/postgresql/data/:z
                """,
            ".env": "INVENTREE_DB_TAG=15\nINVENTREE_DB_PASSWORD=e2e-secret-pw\n",
        ]) { project in
            try await project.compose(["up", "-d", "inventree-db"])
            let json = try await project.waitForCluster()
            #expect(json.major == 15)
            #expect(json.sizeBytes ?? 0 > 1_000_000)

            let text = try await project.upshift(["status"])
            #expect(text.exit == 0)
            #expect(text.stdout.contains("on disk    PostgreSQL 15 (PG_VERSION 15)"))
            #expect(text.stdout.contains("bind \(project.directory)/inventree-data (sub-path pgdb)"))
            #expect(text.stdout.contains("defined at docker-compose.yml:3 via INVENTREE_DB_TAG in .env:1"))
            #expect(text.stdout.contains("inventree-db  postgres:15  running"))
            #expect(!text.stdout.contains("e2e-secret-pw") && !text.stderr.contains("e2e-secret-pw"))

            // The classic breakage: the tag is bumped in .env, nothing migrated.
            try project.write(".env", "INVENTREE_DB_TAG=18\nINVENTREE_DB_PASSWORD=e2e-secret-pw\n")
            let bumped = try await project.upshift(["status"])
            #expect(bumped.exit == 0)
            #expect(bumped.stdout.contains("POSTGRES MAJOR MISMATCH: image 18, data on disk 15"))
            #expect(bumped.stdout.contains("upshift pg-upgrade --to 18"))

            // Bumped to a tag that is neither local nor pullable: the files are still read, through the
            // image of the existing container.
            try project.write(".env", "INVENTREE_DB_TAG=17-upshift-nonexistent\nINVENTREE_DB_PASSWORD=e2e-secret-pw\n")
            let unpullable = try await project.upshift(["status"])
            #expect(unpullable.stdout.contains("POSTGRES MAJOR MISMATCH: image 17, data on disk 15"))
        }
    }

    @Test(.enabled(if: StatusE2E.engineAvailable))
    func namedVolumeWithPostgres18Layout() async throws {
        try await StatusE2E.withProject(files: [
            "compose.yaml": """
                services:
                  db:
                    image: postgres:18
                    environment:
                      POSTGRES_PASSWORD: e2e-secret-pw
                    volumes:
                      - pg:/var/lib/postgresql
                volumes:
                  pg:
                """,
        ]) { project in
            // Before anything ran, the volume does not exist: reported, and not created by looking.
            let before = try await project.upshift(["status"])
            #expect(before.exit == 0)
            #expect(before.stdout.contains("on disk    volume \(project.name)_pg does not exist"))
            let volumes = try await project.docker(["volume", "ls", "-q", "--filter", "name=\(project.name)_pg"])
            #expect(volumes.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)

            try await project.compose(["up", "-d", "db"])
            let status = try await project.waitForCluster()
            #expect(status.major == 18)
            let text = try await project.upshift(["status"])
            #expect(text.stdout.contains("on disk    PostgreSQL 18 (PG_VERSION 18)"))
            #expect(text.stdout.contains("volume \(project.name)_pg (sub-path 18/docker)"))
        }
    }

    // MARK: - Bad input: one clear line, exit code != 0

    @Test func noComposeFile() async throws {
        try await StatusE2E.withProject(files: [:]) { project in
            let result = try await project.upshift(["status"])
            #expect(result.exit == 64)
            #expect(result.stderr.hasPrefix("error: no compose file found in \(project.directory)"))
        }
    }

    @Test func composeErrorShowsComposesMessage() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: postgres:${PG_VERSION:?PG_VERSION must be set}\n"]) { project in
            let result = try await project.upshift(["status"])
            #expect(result.exit == 64)
            #expect(result.stderr.hasPrefix("error: docker compose rejected the project: error while interpolating services.db.image: required variable PG_VERSION is missing a value: PG_VERSION must be set"))
        }
    }

    @Test func noPostgresService() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: mariadb:11\n"]) { project in
            let result = try await project.upshift(["status"])
            #expect(result.exit == 64)
            #expect(result.stderr.hasPrefix("error: no postgres service in project \"\(project.name)\""))
        }
    }

    @Test func twoPostgresServicesWithoutDbService() async throws {
        let files = ["compose.yaml": "services:\n  a:\n    image: postgres:15\n  b:\n    image: postgres:16\n"]
        try await StatusE2E.withProject(files: files) { project in
            let result = try await project.upshift(["status"])
            #expect(result.exit == 64)
            #expect(result.stderr.hasPrefix("error: several postgres services in project \"\(project.name)\": a, b\nhint: choose one with --db-service a"))
            let unknown = try await project.upshift(["status", "--db-service", "c"])
            #expect(unknown.exit == 64)
            #expect(unknown.stderr.hasPrefix("error: service \"c\" (--db-service) is not in the project"))
        }
    }

    @Test func composeV1Only() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: postgres:15\n"]) { project in
            // A PATH where `docker compose` does not exist and `docker-compose` is v1.
            let bin = try project.fakeBin([
                "docker": "echo \"docker: unknown command: docker compose\" >&2; exit 1",
                "docker-compose": "if [ \"$2\" = --short ]; then echo 1.29.2; else echo 'docker-compose version 1.29.2, build 5becea4c'; fi",
            ])
            let result = try await project.upshift(["status"], environment: ["PATH": bin])
            #expect(result.exit == 69)
            #expect(result.stderr.hasPrefix("error: only docker-compose 1.29.2 (compose v1) is installed; upshift needs compose v2 or later"))
        }
    }

    @Test func noDockerAtAll() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: postgres:15\n"]) { project in
            let bin = try project.fakeBin([:])
            let result = try await project.upshift(["status"], environment: ["PATH": bin])
            #expect(result.exit == 69)
            #expect(result.stderr.hasPrefix("error: docker is not installed"))
        }
    }

    @Test func usageErrorIs64() async throws {
        try await StatusE2E.withProject(files: [:]) { project in
            let result = try await project.upshift(["status", "--no-such-flag"])
            #expect(result.exit == 64)
        }
    }
}

/// Small local helpers for this suite.
enum StatusE2E {
    static var binary: String? {
        ProcessInfo.processInfo.environment["UPSHIFT_BIN"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    static var engineAvailable: Bool { binary != nil && ProcessInfo.processInfo.environment["DOCKER_HOST"] != nil }

    struct Output {
        var exit: Int32
        var stdout: String
        var stderr: String
    }

    struct ClusterStatus {
        var major: Int?
        var sizeBytes: Int64?
    }

    final class Project: Sendable {
        let directory: String
        let name: String
        let runner = LiveCommandRunner()

        init(directory: String, name: String) {
            self.directory = directory
            self.name = name
        }

        func write(_ file: String, _ text: String) throws {
            try text.write(toFile: "\(directory)/\(file)", atomically: true, encoding: .utf8)
        }

        func upshift(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
            let command = Command(StatusE2E.binary!, arguments, environment: environment, workingDirectory: directory, timeout: .seconds(180))
            let result = try await runner.run(command)
            guard case .exited(let code) = result.termination else { return Output(exit: -1, stdout: result.stdoutText, stderr: result.stderrText) }
            return Output(exit: code, stdout: result.stdoutText, stderr: result.stderrText)
        }

        func compose(_ arguments: [String]) async throws {
            let command = Command(
                "docker", ["compose", "--ansi", "never", "-p", name] + arguments, environment: ["PWD": directory],
                workingDirectory: directory, timeout: .seconds(300))
            _ = try await runner.check(command)
        }

        func docker(_ arguments: [String]) async throws -> String {
            try await runner.check(Command("docker", arguments, timeout: .seconds(120))).stdoutText
        }

        /// Polls `upshift status --json` until PG_VERSION is readable (initdb has run), with a deadline.
        func waitForCluster(timeout: Duration = .seconds(120)) async throws -> ClusterStatus {
            let deadline = ContinuousClock.now + timeout
            var last = ""
            while ContinuousClock.now < deadline {
                let output = try await upshift(["status", "--json"])
                last = output.stdout + output.stderr
                if output.exit == 0, let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
                    let database = object["database"] as? [String: Any], let onDisk = database["onDisk"] as? [String: Any],
                    let cluster = onDisk["cluster"] as? [String: Any]
                {
                    return ClusterStatus(major: cluster["major"] as? Int, sizeBytes: (database["sizeBytes"] as? NSNumber)?.int64Value)
                }
                try await Task.sleep(for: .milliseconds(500))
            }
            Issue.record("no cluster on disk within \(timeout); last status: \(last.suffix(2000))")
            return ClusterStatus()
        }

        /// A directory of stand-in executables (`name: shell body`), for a PATH without the real tools.
        func fakeBin(_ scripts: [String: String]) throws -> String {
            let bin = "\(directory)/.fake-bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            for (name, body) in scripts {
                try "#!/bin/sh\n\(body)\n".write(toFile: "\(bin)/\(name)", atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(bin)/\(name)")
            }
            return bin
        }

        /// Removes containers, volumes and the directory (bind data belongs to uid 999: removed as root).
        func cleanUp() async {
            let down = Command(
                "docker", ["compose", "--ansi", "never", "-p", name, "down", "-v", "-t", "1", "--remove-orphans"],
                environment: ["PWD": directory], workingDirectory: directory, timeout: .seconds(120))
            if FileManager.default.fileExists(atPath: "\(directory)/compose.yaml") || FileManager.default.fileExists(atPath: "\(directory)/docker-compose.yml") {
                _ = try? await runner.run(down)
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// A fresh project directory with `files`, a unique compose project name, cleaned up on every path.
    static func withProject(files: [String: String], _ body: (Project) async throws -> Void) async throws {
        let name = "upshift-e2e-status-\(UUID().uuidString.prefix(8).lowercased())"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let project = Project(directory: directory, name: name)
        do {
            for (file, text) in files { try project.write(file, text) }
            try await body(project)
        } catch {
            await project.cleanUp()
            throw error
        }
        await project.cleanUp()
    }
}
