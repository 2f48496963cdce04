import Foundation
import Testing
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport
import UpshiftTestSupport

/// `upshift status` as a user runs it: the built binary against real compose projects on the test engine
/// (`compose/testenv/up`), and the bad inputs that must end in one clear line and a non-zero exit.
@Suite(.serialized)
struct StatusEndToEndTests {
    // MARK: - The sample deployments

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func inventreeSample() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "status-inv") { deployment in
            try await deployment.up(["inventree-db"])
            let status = try await StatusE2E.waitForCluster(deployment)
            #expect(status.major == 15)
            #expect((status.sizeBytes ?? 0) > 1_000_000)

            let text = try await deployment.upshift(["status"])
            #expect(text.exitCode == 0, "\(text)")
            #expect(text.stdout.contains("on disk    PostgreSQL 15 (PG_VERSION 15)"))
            #expect(text.stdout.contains("bind \(deployment.path)/inventree-data (sub-path pgdb)"))
            #expect(text.stdout.contains("PGDATA     /var/lib/postgresql/data/pgdb  (set in environment)"))
            #expect(text.stdout.contains("superuser  pguser   database inventree"))
            #expect(text.stdout.contains("application InvenTree 1.0.0 (server: inventree-server, workers: inventree-worker)"))
            #expect(text.stdout.contains("inventree-db      postgres:15                running (healthy)"))
            #expect(!text.stdout.contains("Sample-InvenTree-DB-pw") && !text.stderr.contains("Sample-InvenTree-DB-pw"))

            // The same project from elsewhere, through -C and through -f.
            let viaC = try await E2EUpshift.run(["status", "-C", deployment.path, "--json"], workingDirectory: "/")
            #expect(viaC.exitCode == 0 && viaC.stdout.contains("\"project\" : \"\(deployment.projectName)\""))
            let viaF = try await E2EUpshift.run(["status", "-f", "\(deployment.path)/docker-compose.yml"], workingDirectory: "/tmp")
            #expect(viaF.stdout.contains("on disk    PostgreSQL 15 (PG_VERSION 15)"))
        }
    }

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func genericSampleNamedVolume() async throws {
        try await E2EDeployment.with(sample: "generic", namePrefix: "status-gen") { deployment in
            // Before anything ran, the volume does not exist: reported, and not created by looking.
            let before = try await deployment.upshift(["status"])
            #expect(before.exitCode == 0, "\(before)")
            #expect(before.stdout.contains("on disk    volume \(deployment.projectName)_dbdata does not exist"))
            let volumes = try await E2EEnvironment.dockerChecked(["volume", "ls", "-q", "--filter", "name=\(deployment.projectName)_dbdata"])
            #expect(volumes.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)

            try await deployment.up(["db"])
            let status = try await StatusE2E.waitForCluster(deployment)
            #expect(status.major == 15)
            let text = try await deployment.upshift(["status"])
            #expect(text.stdout.contains("data       volume \(deployment.projectName)_dbdata, "))
            #expect(text.stdout.contains("application generic PostgreSQL application"))
            #expect(text.stdout.contains("superuser  app   database app"))
        }
    }

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func tagBumpedWithoutMigrationIsLoud() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "status-bump") { deployment in
            // The sample pins postgres:15 literally; put the tag in .env like many deployments do.
            let compose = try deployment.read("docker-compose.yml")
            try deployment.write("docker-compose.yml", compose.replacingOccurrences(of: "image: postgres:15\n", with: "image: postgres:${PG_TAG}\n"))
            try deployment.setEnv("PG_TAG", "15")
            try await deployment.up(["inventree-db"])
            #expect(try await StatusE2E.waitForCluster(deployment).major == 15)
            try await deployment.composeChecked(["stop", "inventree-db"])

            try deployment.setEnv("PG_TAG", "18")
            let bumped = try await deployment.upshift(["status"])
            #expect(bumped.exitCode == 0, "\(bumped)")
            #expect(bumped.stdout.contains("POSTGRES MAJOR MISMATCH: image 18, data on disk 15"))
            #expect(bumped.stdout.contains("put the image tag back to 15 (postgres:15)"))
            #expect(bumped.stdout.contains("upshift pg-upgrade --to 18"))
            #expect(bumped.stdout.contains("via PG_TAG in .env:"))

            // A tag that is neither local nor pullable: the files are read through the existing container's image.
            try deployment.setEnv("PG_TAG", "17-upshift-nonexistent")
            let unpullable = try await deployment.upshift(["status"])
            #expect(unpullable.stdout.contains("POSTGRES MAJOR MISMATCH: image 17, data on disk 15"), "\(unpullable)")
        }
    }

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func postgres18NewLayoutOnNamedVolume() async throws {
        let files = [
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
        ]
        try await StatusE2E.withProject(files: files, prefix: "status-pg18") { deployment in
            try await deployment.composeChecked(["up", "-d", "db"])
            #expect(try await StatusE2E.waitForCluster(deployment).major == 18)
            let text = try await deployment.upshift(["status"])
            #expect(text.stdout.contains("on disk    PostgreSQL 18 (PG_VERSION 18)"))
            #expect(text.stdout.contains("volume \(deployment.projectName)_pg (sub-path 18/docker)"))
            #expect(!text.stdout.contains("e2e-secret-pw"))
        }
    }

    // MARK: - Helper-container file operations on a real engine

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func dataOperationsOnBindAndVolume() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "status-dataops") { deployment in
            try await deployment.up(["inventree-db"])
            _ = try await StatusE2E.waitForCluster(deployment)
            try await deployment.composeChecked(["stop", "inventree-db"])
            let bind = DataLocation(
                kind: .bind, pgdata: "/var/lib/postgresql/data/pgdb", mountTarget: "/var/lib/postgresql/data",
                hostPath: "\(deployment.path)/inventree-data", subpath: "pgdb")
            let ops = DataDirectoryOperations(
                runner: E2EEnvironment.runner, image: "postgres:15", environment: E2EEnvironment.childEnvironment)
            #expect(try await ops.probe(bind) == .cluster(major: 15, pgVersion: "15"))
            let owner = try #require(try await ops.ownership(bind, relativePath: "pgdb"))
            #expect(owner.mode == 0o700 && owner.uid != 0)

            // Rename aside and back: same mount, nothing copied; status follows.
            try await ops.moveAside(bind, from: "pgdb", to: "pgdb.pg15-e2e")
            #expect(try await ops.probe(bind) == .directoryMissing(path: "\(deployment.path)/inventree-data/pgdb"))
            #expect(try await ops.exists(bind, relativePath: "pgdb.pg15-e2e/PG_VERSION"))
            #expect(try await ops.ownership(bind, relativePath: "pgdb.pg15-e2e") == owner)
            let moved = try await deployment.upshift(["status"])
            #expect(moved.stdout.contains("on disk    \(deployment.path)/inventree-data/pgdb does not exist"))
            await #expect(throws: UpshiftError.self) { try await ops.moveAside(bind, from: "pgdb.pg15-e2e", to: "pgdb.pg15-e2e") }
            try await ops.moveAside(bind, from: "pgdb.pg15-e2e", to: "pgdb")
            #expect(try await ops.probe(bind).major == 15)

            // A named volume: size, a missing one is reported without being created.
            let volumeName = "\(deployment.projectName)_scratch"
            try await E2EEnvironment.dockerChecked(["volume", "create", volumeName])
            defer { Task { _ = try? await E2EEnvironment.docker(["volume", "rm", "-f", volumeName]) } }
            let volume = DataLocation(kind: .volume, pgdata: "/d", mountTarget: "/d", volumeName: volumeName, volumeKey: "scratch")
            #expect(try await ops.probe(volume) == .empty(path: "volume \(volumeName)"))
            let missing = DataLocation(kind: .volume, pgdata: "/d", mountTarget: "/d", volumeName: "\(volumeName)-missing", volumeKey: "x")
            #expect(try await ops.probe(missing) == .volumeMissing(name: "\(volumeName)-missing"))
            let listed = try await E2EEnvironment.dockerChecked(["volume", "ls", "-q", "--filter", "name=\(volumeName)-missing"])
            #expect(listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            _ = try await E2EEnvironment.docker(["volume", "rm", "-f", volumeName])
        }
    }

    // MARK: - Same project as compose

    /// upshift must resolve the same project compose does when run from the same place with the same flags:
    /// compared against `docker compose … config --format json` (name and the db image) for layouts where
    /// cwd, .env files, COMPOSE_* variables and flags interact.
    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func resolvesTheSameProjectAsCompose() async throws {
        let files = [
            "compose.yaml": "name: My.App\nservices:\n  db:\n    image: postgres:${T:-default}\n",
            "compose.override.yaml": "services:\n  db:\n    environment:\n      X: y\n",
            ".env": "T=root\n",
            "sub/.env": "T=sub\n",
            "app/compose.yaml": "services:\n  db:\n    image: postgres:${T:-appdefault}\n",
            "app/.env": "COMPOSE_PROJECT_NAME=fromapp\nT=app\n",
            "multi/base.yml": "services:\n  db:\n    image: postgres:15\n",
            "multi/over.yml": "services:\n  db:\n    image: postgres:16-alpine\n",
            "multi/.env": "COMPOSE_FILE=base.yml;over.yml\nCOMPOSE_PATH_SEPARATOR=;\n",
        ]
        try await StatusE2E.withProject(files: files, prefix: "status-same") { deployment in
            let root = deployment.path
            let cases: [(cwd: String, flags: [String])] = [
                (root, []),
                ("\(root)/sub", []),                                   // walk up; cwd's .env wins
                (root, ["-f", "app/compose.yaml"]),                     // app/.env names it
                ("/", ["--project-directory", "\(root)/app", "-f", "\(root)/app/compose.yaml"]),
                ("\(root)/multi", []),                                 // COMPOSE_FILE + separator from .env
                (root, ["-p", "explicit", "--env-file", "sub/.env"]),
            ]
            for (cwd, flags) in cases {
                let compose = try await E2EEnvironment.runner.run(Command(
                    "docker", ["compose"] + flags + ["config", "--format", "json"],
                    environment: E2EEnvironment.childEnvironment.merging(["PWD": cwd]) { $1 }, workingDirectory: cwd, timeout: .seconds(60)))
                let expected = try JSONSerialization.jsonObject(with: compose.standardOutput) as? [String: Any]
                let expectedName = expected?["name"] as? String
                let expectedImage = ((expected?["services"] as? [String: Any])?["db"] as? [String: Any])?["image"] as? String
                let upshift = try await E2EUpshift.run(["status", "--json"] + flags, workingDirectory: cwd)
                let actual = try JSONSerialization.jsonObject(with: Data(upshift.stdout.utf8)) as? [String: Any]
                let actualImage = ((actual?["database"] as? [String: Any])?["service"] as? [String: Any])?["imageText"] as? String
                #expect(expectedName != nil && actual?["project"] as? String == expectedName, "cwd \(cwd) flags \(flags): \(upshift)")
                #expect(expectedImage != nil && actualImage == expectedImage, "cwd \(cwd) flags \(flags)")
            }
        }
    }

    // MARK: - The audit trail in `status` and `log`

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func logAndStatusShowRuns() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: postgres:15\n"], prefix: "status-log") { deployment in
            let log = try AuditLog(projectDirectory: deployment.path)
            let run = "20261128T120000Z-abcd"
            try log.append(run: run, event: AuditEvent.runStarted, stringDetails: ["command": "pg-upgrade --to 18"])
            try log.append(run: run, event: AuditEvent.stepStarted, details: ["step": "dump", "index": 1])
            try log.append(run: run, event: AuditEvent.runFinished, stringDetails: ["outcome": "succeeded"], sync: true)
            try log.append(run: "20261128T130000Z-ef01", event: AuditEvent.runStarted, stringDetails: ["command": "rollback"], sync: true)

            let list = try await deployment.upshift(["log"])
            #expect(list.exitCode == 0, "\(list)")
            #expect(list.stdout.contains("hash chain intact (4 records)"))
            #expect(list.stdout.contains(run) && list.stdout.contains("succeeded") && list.stdout.contains("pg-upgrade --to 18"))
            #expect(list.stdout.contains("incomplete"))

            let one = try await deployment.upshift(["log", "--run", "20261128T12"])
            #expect(one.exitCode == 0, "\(one)")
            #expect(one.stdout.contains("#2  step.started  index=1 step=dump"))
            let json = try await deployment.upshift(["log", "--run", run, "--json"])
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((object?["records"] as? [Any])?.count == 3)
            #expect(try await deployment.upshift(["log", "--run", "2026"]).exitCode == 64)  // ambiguous prefix

            // Status lists the runs, newest first, without an engine being needed for that part.
            let status = try await deployment.upshift(["status"])
            #expect(status.exitCode == 0, "\(status)")
            let runs = status.stdout.components(separatedBy: "last runs\n").last ?? ""
            #expect(runs.hasPrefix("  ") && runs.contains("20261128T130000Z-ef01  rollback  incomplete"))
            #expect(runs.range(of: "ef01")!.lowerBound < runs.range(of: "abcd")!.lowerBound)

            // Tampering breaks the chain, and `log` says so.
            let path = AuditLog.path(projectDirectory: deployment.path)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "\"dump\"", with: "\"dumq\"").write(toFile: path, atomically: true, encoding: .utf8)
            let tampered = try await deployment.upshift(["log"])
            #expect(tampered.stdout.contains("hash chain broken at line 3"))
            #expect(tampered.stderr.contains("warning:"))
        }
    }

    // MARK: - Bad input: one clear line, exit code != 0

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func noComposeFile() async throws {
        try await StatusE2E.withProject(files: [:], prefix: "status-nofile") { deployment in
            let result = try await deployment.upshift(["status"])
            #expect(result.exitCode == 64)
            #expect(result.stderr.hasPrefix("error: no compose file found in \(deployment.path)"), "\(result)")
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func composeErrorShowsComposesMessage() async throws {
        let files = ["compose.yaml": "services:\n  db:\n    image: postgres:${PG_VERSION:?PG_VERSION must be set}\n"]
        try await StatusE2E.withProject(files: files, prefix: "status-required") { deployment in
            let result = try await deployment.upshift(["status"])
            #expect(result.exitCode == 64)
            #expect(result.stderr.hasPrefix(
                "error: docker compose rejected the project: error while interpolating services.db.image: required variable PG_VERSION is missing a value: PG_VERSION must be set"), "\(result)")
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func noPostgresService() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: mariadb:11\n"], prefix: "status-nopg") { deployment in
            let result = try await deployment.upshift(["status"])
            #expect(result.exitCode == 64)
            #expect(result.stderr.hasPrefix("error: no postgres service in project \"\(deployment.projectName)\""), "\(result)")
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func twoPostgresServicesWithoutDbService() async throws {
        let files = ["compose.yaml": "services:\n  a:\n    image: postgres:15\n  b:\n    image: postgres:16\n"]
        try await StatusE2E.withProject(files: files, prefix: "status-twopg") { deployment in
            let result = try await deployment.upshift(["status"])
            #expect(result.exitCode == 64)
            #expect(result.stderr == "error: several postgres services in project \"\(deployment.projectName)\": a, b\nhint: choose one with --db-service a\n")
            let unknown = try await deployment.upshift(["status", "--db-service", "c"])
            #expect(unknown.exitCode == 64)
            #expect(unknown.stderr.hasPrefix("error: service \"c\" (--db-service) is not in the project"))
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func composeV1Only() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: postgres:15\n"], prefix: "status-v1") { deployment in
            // A PATH where `docker compose` does not exist and `docker-compose` is v1.
            let bin = try StatusE2E.fakeBin(in: deployment, [
                "docker": "echo 'docker: unknown command: docker compose' >&2; exit 1",
                "docker-compose": "if [ \"$2\" = --short ]; then echo 1.29.2; else echo 'docker-compose version 1.29.2, build 5becea4c'; fi",
            ])
            let result = try await deployment.upshift(["status"], environment: ["PATH": bin])
            #expect(result.exitCode == 69)
            #expect(result.stderr.hasPrefix("error: only docker-compose 1.29.2 (compose v1) is installed; upshift needs compose v2 or later"), "\(result)")
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func noDockerAtAll() async throws {
        try await StatusE2E.withProject(files: ["compose.yaml": "services:\n  db:\n    image: postgres:15\n"], prefix: "status-nodocker") { deployment in
            let result = try await deployment.upshift(["status"], environment: ["PATH": try StatusE2E.fakeBin(in: deployment, [:])])
            #expect(result.exitCode == 69)
            #expect(result.stderr.hasPrefix("error: docker is not installed"), "\(result)")
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func noEngineStillShowsTheModel() async throws {
        let files = ["compose.yaml": "services:\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: e2e-secret-pw\n"]
        try await StatusE2E.withProject(files: files, prefix: "status-noengine") { deployment in
            let result = try await deployment.upshift(["status"], environment: ["DOCKER_HOST": "unix:///nonexistent/upshift-test.sock"])
            #expect(result.exitCode == 0, "\(result)")
            #expect(result.stdout.contains("db  postgres:15  state unknown"))
            #expect(result.stdout.contains("on disk    unknown: no docker engine answered"))
            #expect(!result.stdout.contains("e2e-secret-pw"))
        }
    }

    @Test(.enabled(if: E2EEnvironment.upshiftBinary != nil))
    func unknownFlagIsUsage64() async throws {
        let result = try await E2EUpshift.run(["status", "--no-such-flag"], workingDirectory: "/")
        #expect(result.exitCode == 64)
    }
}

/// Helpers local to this suite.
enum StatusE2E {
    struct ClusterStatus {
        var major: Int?
        var sizeBytes: Int64?
    }

    /// Polls `upshift status --json` until PG_VERSION is readable (initdb has written it).
    static func waitForCluster(_ deployment: E2EDeployment) async throws -> ClusterStatus {
        try await E2EPoll.value("PG_VERSION readable by upshift status in \(deployment.projectName)", timeout: .seconds(120), interval: .milliseconds(500)) {
            let output = try await deployment.upshift(["status", "--json"])
            guard output.exitCode == 0,
                let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
                let database = object["database"] as? [String: Any], let onDisk = database["onDisk"] as? [String: Any],
                let cluster = onDisk["cluster"] as? [String: Any]
            else { return nil }
            return ClusterStatus(major: cluster["major"] as? Int, sizeBytes: (database["sizeBytes"] as? NSNumber)?.int64Value)
        }
    }

    /// A deployment made of `files` (through the harness, so it gets a unique name and a full teardown).
    static func withProject(files: [String: String], prefix: String, _ body: (E2EDeployment) async throws -> Void) async throws {
        let source = FileManager.default.temporaryDirectory.appendingPathComponent(E2EEnvironment.uniqueName("upshift-src"))
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: source) }
        for (name, text) in files {
            let file = source.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let deployment = try E2EDeployment(sample: prefix, source: source, namePrefix: prefix)
        do {
            try await body(deployment)
        } catch {
            try? await deployment.tearDown()
            throw error
        }
        try await deployment.tearDown()
    }

    /// A directory of stand-in executables (`name: shell body`), for a PATH without the real tools.
    static func fakeBin(in deployment: E2EDeployment, _ scripts: [String: String]) throws -> String {
        let bin = deployment.url(".fake-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for (name, body) in scripts {
            let file = bin.appendingPathComponent(name)
            try "#!/bin/sh\n\(body)\n".write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        return bin.path
    }
}
