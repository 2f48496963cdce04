import Foundation
import Synchronization
import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// `upshift doctor` as a user runs it, on the test engine: a healthy InvenTree copy passes and is left exactly as
/// it was; every check that the test stack can break is broken (several per deployment copy, each changing one
/// thing) and must then report its own fail/warn line.
@Suite(.serialized)
struct DoctorEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    // MARK: - Healthy

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func healthyInventreeExitsZeroAndChangesNothing() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "doctor-ok") { deployment in
            try await DoctorE2E.pullTargetImage()
            try await deployment.up()
            let before = try await DoctorE2E.fingerprint(deployment)

            let text = try await deployment.upshift(["doctor"])
            #expect(text.exitCode == 0, "\(text)")
            #expect(text.stdout.contains("ready: nothing failed"), "\(text)")
            #expect(!text.stdout.contains("FAIL"))
            let report = try await DoctorE2E.report(deployment)
            for id in [DoctorCheckID.compose, DoctorCheckID.engine, DoctorCheckID.dbService, DoctorCheckID.pendingRollback, DoctorCheckID.major,
                       DoctorCheckID.dataMount, DoctorCheckID.layout, DoctorCheckID.owner, DoctorCheckID.shutdown, DoctorCheckID.diskSpace,
                       DoctorCheckID.encodingLocale, DoctorCheckID.superuser, DoctorCheckID.extensions, DoctorCheckID.md5, DoctorCheckID.collation,
                       DoctorCheckID.imageLine, DoctorCheckID.targetImage, DoctorCheckID.appClient, DoctorCheckID.appImageLine] {
                #expect(report.check(id)?.status == .pass, "\(id): \(String(describing: report.check(id)))")
            }
            #expect(report.check(DoctorCheckID.checksums)?.status == .warn, "15 has no checksums, 18 turns them on")
            // pgdb sits inside the bind mount: old and new cluster share one filesystem, so link/swap can work.
            #expect(report.check(DoctorCheckID.linkSwap)?.status == .pass, "\(String(describing: report.check(DoctorCheckID.linkSwap)))")
            #expect(report.check(DoctorCheckID.interference)?.status == .info)
            #expect(!text.stdout.contains("Sample-InvenTree-DB-pw") && !text.stderr.contains("Sample-InvenTree-DB-pw"))

            let after = try await DoctorE2E.fingerprint(deployment)
            #expect(before == after, "doctor changed something")
            #expect(!FileManager.default.fileExists(atPath: deployment.path + "/.upshift"))
        }
    }

    // MARK: - Running database: SQL-level findings, image line, target image, app client, restart policy, pending rollback

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func runningDatabaseFindings() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "doctor-run") { deployment in
            try await DoctorE2E.pullTargetImage()
            try await deployment.up(["inventree-db"])
            let sql = """
                SET password_encryption = 'md5';
                CREATE ROLE legacy LOGIN PASSWORD 'legacy-pw';
                CREATE EXTENSION adminpack;
                CREATE COLLATION doctor_de (provider = icu, locale = 'de');
                UPDATE pg_collation SET collversion = '0.0' WHERE collname = 'doctor_de';
                """
            try await DoctorE2E.psql(deployment, sql, database: "inventree")
            try await DoctorE2E.psql(deployment, "CREATE DATABASE legacy ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0", database: "postgres")
            // The app image of 0.17.0 ships pg_dump 15; a worker that restarts always; an anchored image line.
            try deployment.setEnv("INVENTREE_TAG", "0.17.0")
            var compose = try deployment.read("docker-compose.yml")
            compose = compose.replacingOccurrences(of: "image: postgres:15\n", with: "image: &pgimage postgres:15\n")
            let worker = try #require(compose.range(of: "restart: unless-stopped", options: .backwards))
            compose.replaceSubrange(worker, with: "restart: always")
            try deployment.write("docker-compose.yml", compose)
            // A run killed half-way.
            let folder = try RunFolder.create(projectDirectory: deployment.path, runID: RunID("20260101-000000-dead")!)
            let journal = try folder.createJournal()
            try journal.append(JournalRecord(type: .runStarted, command: "pg-upgrade"))
            try journal.append(JournalRecord(type: .intent, step: "move-aside", kind: "k", compensation: CompensationSpec(kind: "k", description: "undo")))
            journal.close()

            let text = try await deployment.upshift(["doctor"])
            #expect(text.exitCode == 1, "\(text)")
            #expect(text.stdout.contains("NOT READY"))
            let report = try await DoctorE2E.report(deployment)
            DoctorE2E.expect(report, DoctorCheckID.md5, .warn, "legacy")
            DoctorE2E.expect(report, DoctorCheckID.extensions, .fail, "missing in postgres:18: adminpack")
            DoctorE2E.expect(report, DoctorCheckID.collation, .warn, "collation \"doctor_de\" recorded 0.0")
            DoctorE2E.expect(report, DoctorCheckID.encodingLocale, .warn, "legacy is LATIN1")
            DoctorE2E.expect(report, DoctorCheckID.appClient, .warn, "ships pg_dump 15")
            DoctorE2E.expect(report, DoctorCheckID.interference, .warn, "inventree-worker has restart: always")
            DoctorE2E.expect(report, DoctorCheckID.imageLine, .fail, "anchor")
            DoctorE2E.expect(report, DoctorCheckID.pendingRollback, .fail, "20260101-000000-dead")
            #expect(report.check(DoctorCheckID.pendingRollback)?.fix?.contains("rollback --run 20260101-000000-dead") == true)
            #expect(text.stdout.contains("fix: upshift -C"))

            // A target image the registry does not have (a variant tag nobody publishes): asked without pulling.
            // The running container keeps its postgres:15 image, so the data checks still see the cluster.
            try deployment.write("docker-compose.yml", try deployment.read("docker-compose.yml")
                .replacingOccurrences(of: "image: &pgimage postgres:15\n", with: "image: postgres:15-upshiftmissing\n"))
            let missing = try await DoctorE2E.report(deployment)
            DoctorE2E.expect(missing, DoctorCheckID.targetImage, .fail, "postgres:18-upshiftmissing is not in")
            DoctorE2E.expect(missing, DoctorCheckID.imageLine, .pass, "postgres:18-upshiftmissing")
            let images = try await E2EEnvironment.dockerChecked(["images", "-q", "postgres:18-upshiftmissing"])
            #expect(images.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "doctor pulled an image")
        }
    }

    // MARK: - Stopped database: unclean shutdown, owner, tag bumped

    @Test(.enabled(if: enabled && getuid() == 0, "needs the test engine and root (chown of the bind-mounted data)"))
    func stoppedDatabaseFindings() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "doctor-stop") { deployment in
            try await deployment.up(["inventree-db"])
            let id = try await deployment.containerID("inventree-db")
            try await E2EEnvironment.dockerChecked(["kill", "-s", "KILL", id])
            let killed = try await DoctorE2E.report(deployment)
            DoctorE2E.expect(killed, DoctorCheckID.shutdown, .warn, "in production")
            #expect(killed.check(DoctorCheckID.shutdown)?.found.contains("postmaster.pid") == true)
            DoctorE2E.expect(killed, DoctorCheckID.checksums, .warn, "pg_controldata")
            #expect(!killed.failed, "\(killed.checks.filter { $0.status == .fail })")

            let pgdata = deployment.path + "/inventree-data/pgdb"
            #expect(chown(pgdata, 4321, 4321) == 0)
            DoctorE2E.expect(try await DoctorE2E.report(deployment), DoctorCheckID.owner, .warn, "owned by uid 4321")
            #expect(chown(pgdata, 999, 999) == 0)

            // The tag bumped to 16 by hand, the data still 15.
            let compose = try deployment.read("docker-compose.yml")
            try deployment.write("docker-compose.yml", compose.replacingOccurrences(of: "image: postgres:15\n", with: "image: postgres:16\n"))
            let bumped = try await deployment.upshift(["doctor"])
            #expect(bumped.exitCode == 1, "\(bumped)")
            let report = try await DoctorE2E.report(deployment)
            DoctorE2E.expect(report, DoctorCheckID.major, .fail, "the tag was bumped without migrating the data")
            #expect(report.check(DoctorCheckID.major)?.fix?.contains("postgres:15") == true)
        }
    }

    // MARK: - Read-only by construction

    /// Doctor in-process with a runner that records every command: each must be a read-only question (compose
    /// version/config/ps, `exec psql -c SELECT …`, inspect/info/ps, or a `docker run --rm --network none` helper
    /// whose mounts are all read-only). Any pull, up, stop, run or create fails the test. Running and stopped.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func everyCommandIsReadOnly() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "doctor-ro") { deployment in
            try await deployment.up(["inventree-db"])
            var environment = ProcessInfo.processInfo.environment
            environment.merge(E2EEnvironment.childEnvironment) { $1 }
            for phase in ["running", "stopped"] {
                if phase == "stopped" { try await deployment.composeChecked(["stop", "inventree-db"]) }
                let runner = DoctorRecordingRunner(environment: E2EEnvironment.childEnvironment)
                let report = try await UpshiftCore.Doctor(
                    options: ComposeOptions(), runner: runner, environment: environment, currentDirectory: deployment.path).run()
                #expect(!report.failed, "\(phase): \(report.checks.filter { $0.status == .fail })")
                let commands = runner.argvs
                #expect(commands.count > 10, "\(phase): \(commands.count) commands")
                for argv in commands {
                    #expect(DoctorE2E.isReadOnly(argv), "\(phase): not read-only: \(argv.joined(separator: " "))")
                }
                #expect(commands.contains { $0.contains("pg_controldata") } == (phase == "stopped"))
                #expect(commands.contains { $0.contains("exec") } == (phase == "running"))
            }
        }
    }

    /// The allowlist itself must reject what would change something.
    @Test func readOnlyAllowlistRejectsChanges() {
        let compose = ["docker", "compose", "--ansi", "never", "--project-directory", "/p", "-f", "/p/c.yml", "-p", "x"]
        #expect(DoctorE2E.isReadOnly(compose + ["ps", "-a", "--format", "json"]))
        #expect(DoctorE2E.isReadOnly(compose + ["exec", "-T", "-e", "PGPASSWORD", "db", "psql", "-X", "-c", "SELECT 1"]))
        #expect(!DoctorE2E.isReadOnly(compose + ["exec", "-T", "db", "psql", "-c", "ALTER ROLE x PASSWORD 'y'"]))
        #expect(!DoctorE2E.isReadOnly(compose + ["up", "-d", "db"]))
        #expect(!DoctorE2E.isReadOnly(compose + ["run", "--rm", "-T", "--no-deps", "server", "pg_dump", "--version"]))
        #expect(!DoctorE2E.isReadOnly(["docker", "pull", "postgres:18"]))
        #expect(!DoctorE2E.isReadOnly(["docker", "run", "--rm", "--network", "none", "-v", "vol:/upshift-data", "postgres:15", "mv", "a", "b"]))
        #expect(!DoctorE2E.isReadOnly(["docker", "run", "--rm", "--mount", "type=bind,source=/x,target=/y,readonly", "postgres:15", "ls"]))
        #expect(DoctorE2E.isReadOnly(["docker", "run", "--rm", "--network", "none", "--mount", "type=bind,source=/x,target=/y,readonly", "postgres:15", "ls"]))
    }

    // MARK: - Disk space

    /// The data on a small filesystem (an 80 MiB tmpfs, bind-mounted like InvenTree's data folder): the new cluster
    /// would not fit next to the old one.
    @Test(.enabled(if: enabled && getuid() == 0, "needs the test engine and root (mounts a small tmpfs)"))
    func diskSpaceTooSmall() async throws {
        let small = FileManager.default.temporaryDirectory.appendingPathComponent(E2EEnvironment.uniqueName("doctor-small")).path
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        try await DoctorE2E.run(["mount", "-t", "tmpfs", "-o", "size=80m", "tmpfs", small])
        var failure: (any Error)?
        do {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "doctor-disk") { deployment in
                try deployment.setEnv("INVENTREE_EXT_VOLUME", small)
                try await deployment.up(["inventree-db"])
                let report = try await DoctorE2E.report(deployment)
                DoctorE2E.expect(report, DoctorCheckID.diskSpace, .fail, "the new cluster needs")
                #expect(report.check(DoctorCheckID.diskSpace)?.found.contains(small) == true)
                #expect(report.exitCode == .failedRolledBack)
            }
        } catch {
            failure = error
        }
        try await DoctorE2E.run(["umount", small])
        try FileManager.default.removeItem(atPath: small)
        if let failure { throw failure }
    }

    // MARK: - Project shape: no compose, no db service, anonymous data, 18 layout on an old mount

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func projectShapeFindings() async throws {
        let files = [
            "compose.yaml": """
                services:
                  db:
                    image: postgres:15
                    environment:
                      POSTGRES_PASSWORD: doctor-secret-pw
                    volumes:
                      - /var/lib/postgresql/data
                """,
        ]
        try await E2EDeployment.with(files: files, namePrefix: "doctor-shape") { deployment in
            let anonymous = try await DoctorE2E.report(deployment)
            DoctorE2E.expect(anonymous, DoctorCheckID.dataMount, .fail, "anonymous volume")
            DoctorE2E.expect(anonymous, DoctorCheckID.layout, .fail, "not on a persistent mount")

            try deployment.write("compose.yaml", """
                services:
                  db:
                    image: postgres:18
                    environment:
                      POSTGRES_PASSWORD: doctor-secret-pw
                    volumes:
                      - pg:/var/lib/postgresql/data
                volumes:
                  pg:
                """)
            DoctorE2E.expect(try await DoctorE2E.report(deployment), DoctorCheckID.layout, .fail, "pre-18 way")

            try deployment.write("compose.yaml", "services:\n  web:\n    image: nginx:1\n")
            let noDB = try await deployment.upshift(["doctor"])
            #expect(noDB.exitCode == 1, "\(noDB)")
            #expect(noDB.stdout.contains("FAIL  db-service"), "\(noDB)")

            // No docker on PATH: compose check fails, exit 69.
            let noDocker = try await deployment.upshift(["doctor"], environment: ["PATH": "/nonexistent"])
            #expect(noDocker.exitCode == 69, "\(noDocker)")
            #expect(noDocker.stdout.contains("FAIL  compose"), "\(noDocker)")

            // Usage errors stay usage errors.
            #expect(try await deployment.upshift(["doctor", "--to", "99"]).exitCode == 64)
            #expect(try await E2EUpshift.run(["doctor"], workingDirectory: "/").exitCode == 64)
        }
    }
}

/// A live runner that records every argv (and points children at the test engine).
final class DoctorRecordingRunner: CommandRunning, Sendable {
    private let live = LiveCommandRunner()
    private let environment: [String: String]
    private let recorded = Mutex<[[String]]>([])

    init(environment: [String: String]) { self.environment = environment }

    var argvs: [[String]] { recorded.withLock { $0 } }

    func run(_ command: Command, stdout: OutputDestination, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        recorded.withLock { $0.append(command.argv) }
        var command = command
        command.environment.merge(environment) { current, _ in current }
        return try await live.run(command, stdout: stdout, onLine: onLine)
    }
}

enum DoctorE2E {
    /// Doctor never pulls, so it reads the target image only when that image is already local (as it is for
    /// a user who followed doctor's own advice). On a fresh engine no earlier test has pulled it: do it here.
    static func pullTargetImage() async throws {
        _ = try await E2EEnvironment.dockerChecked(["pull", "-q", "postgres:18"])
    }

    /// The read-only allowlist for doctor's commands.
    static func isReadOnly(_ argv: [String]) -> Bool {
        guard argv.first == "docker" || argv.first == "docker-compose" else { return false }
        var rest = Array(argv.dropFirst())
        if argv.first == "docker", rest.first == "compose" { rest.removeFirst() } else if argv.first == "docker" {
            switch (rest.first, rest.dropFirst().first) {
            case ("image", "inspect"), ("volume", "inspect"), ("manifest", "inspect"), ("info", _), ("ps", _): return true
            case ("run", _):
                guard rest.contains("--rm"), let network = rest.firstIndex(of: "--network"), rest[network + 1] == "none" else { return false }
                for (index, word) in rest.enumerated() {
                    if word == "--mount", !rest[index + 1].contains("readonly") { return false }
                    if word == "-v", !rest[index + 1].hasSuffix(":ro") { return false }
                }
                return true
            default: return false
            }
        }
        // compose: skip the global flags, then only version/config/ps/exec psql SELECT.
        let withValue: Set<String> = ["--ansi", "--progress", "--project-directory", "-f", "-p", "--env-file"]
        var index = 0
        while index < rest.count, rest[index].hasPrefix("-") { index += withValue.contains(rest[index]) ? 2 : 1 }
        guard index < rest.count else { return false }
        switch rest[index] {
        case "version", "config", "ps": return true
        case "exec":
            guard let psql = rest.firstIndex(of: "psql"), let c = rest[psql...].firstIndex(of: "-c"), c + 1 < rest.count else { return false }
            return rest[c + 1].trimmingCharacters(in: .whitespacesAndNewlines).uppercased().hasPrefix("SELECT")
        default: return false
        }
    }

    /// `upshift doctor --json ARGS` decoded.
    static func report(_ deployment: E2EDeployment, _ arguments: [String] = []) async throws -> DoctorReport {
        let out = try await deployment.upshift(["doctor", "--json"] + arguments)
        guard out.exitCode == 0 || out.exitCode == 1 || out.exitCode == 69 else { throw E2EFailure("doctor --json: \(out)") }
        do {
            return try JSONDecoder().decode(DoctorReport.self, from: Data(out.stdout.utf8))
        } catch {
            throw E2EFailure("doctor --json printed no report (\(error)): \(out)")
        }
    }

    static func expect(_ report: DoctorReport, _ id: String, _ status: DoctorCheck.Status, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let check = report.check(id)
        #expect(check?.status == status, "\(id): \(String(describing: check))", sourceLocation: sourceLocation)
        #expect(check?.found.contains(text) == true, "\(id) should mention \"\(text)\": \(check?.found ?? "no such check")", sourceLocation: sourceLocation)
    }

    static func run(_ argv: [String]) async throws {
        let result = try await E2EEnvironment.runner.run(Command(argv[0], Array(argv.dropFirst()), timeout: .seconds(60)))
        guard result.termination.isSuccess else { throw E2EFailure("\(argv.joined(separator: " ")): \(result.stderrText)") }
    }

    static func psql(_ deployment: E2EDeployment, _ sql: String, database: String) async throws {
        try await deployment.exec("inventree-db", ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", "pguser", "-d", database], stdin: Data(sql.utf8))
            .checked("psql in \(deployment.projectName)")
    }

    /// What doctor must not change: every file outside the database's own directory (byte hashes), the
    /// project's containers (id, state, start time), its volumes and networks, and the engine's image list.
    static func fingerprint(_ deployment: E2EDeployment) async throws -> [String] {
        var lines: [String] = []
        let root = deployment.directory
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            let relative = String(url.path.dropFirst(root.path.count))
            if relative.hasPrefix("/inventree-data/pgdb") { enumerator?.skipDescendants(); continue }
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let data = FileManager.default.contents(atPath: url.path) else { continue }
            lines.append("file \(relative) \(SHA256.hex(of: data))")
        }
        let ps = try await deployment.composeChecked(["ps", "-a", "-q"]).stdout.split(whereSeparator: \.isNewline).map(String.init)
        for id in ps.sorted() {
            let state = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{.Id}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}", id])
            lines.append("container \(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let label = "label=com.docker.compose.project=\(deployment.projectName)"
        lines.append("volumes " + (try await E2EEnvironment.dockerChecked(["volume", "ls", "-q", "--filter", label])).stdout.split(whereSeparator: \.isNewline).sorted().joined(separator: ","))
        lines.append("networks " + (try await E2EEnvironment.dockerChecked(["network", "ls", "-q", "--filter", label])).stdout.split(whereSeparator: \.isNewline).sorted().joined(separator: ","))
        // The images doctor looks at (the engine's whole list changes with parallel suites).
        for image in ["postgres:15", "postgres:18", "inventree/inventree:1.0.0"] {
            lines.append("image \(image) " + (try await E2EEnvironment.dockerChecked(["image", "inspect", "--format", "{{.Id}}", image])).stdout)
        }
        return lines.sorted()
    }
}
