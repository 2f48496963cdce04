import Foundation
import Testing
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The fault campaign, part 2: faults that must be refused before anything changes, or caught during the run
/// and rolled back — on one seeded InvenTree copy: the project lock held by another process, the moved-aside
/// name taken, the target image missing from the registry, the backup disk filling up during the dump.
/// Each adds a row to the campaign table after the same outside checks as the kill tests.
@Suite(.serialized)
struct FaultRefusalEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func lockAsideImageAndDiskFull() async throws {
        try await E2EUpgrade.timed("fault campaign: lock held, aside name taken, image missing, disk full") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-refuse") { d in
                try await FaultCampaign.prepare(d)
                let outputs = FaultOutputs()

                // --dry-run prints every command with secrets masked, changes nothing.
                let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
                outputs.add("pg-upgrade --dry-run", dry.stdout + dry.stderr)
                #expect(dry.exitCode == 0, "\(dry)")
                #expect(E2EUpgrade.runIDs(d).isEmpty)

                // 1. The lock held by another process (this test holds the flock, with a holder record naming it).
                try await FaultKillEndToEndTests.scenario(d, "project lock held by another process", at: "start (lock)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    let lockPath = d.path + "/.upshift/lock"
                    try FileManager.default.createDirectory(atPath: d.path + "/.upshift", withIntermediateDirectories: true)
                    let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
                    guard fd >= 0 else { throw E2EFailure("cannot open \(lockPath)") }
                    defer { close(fd) }
                    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw E2EFailure("cannot lock \(lockPath)") }
                    defer { _ = flock(fd, LOCK_UN) }
                    let holder = #"{"command":"pg-upgrade --to 18","pid":\#(getpid()),"startedAt":"2026-11-28T12:00:00.000Z"}"# + "\n"
                    _ = ftruncate(fd, 0)
                    _ = holder.withCString { write(fd, $0, strlen($0)) }
                    let refused = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                    outputs.add("pg-upgrade while locked", refused.stdout + refused.stderr)
                    verdict.check(refused.exitCode != 0, "not refused: \(refused)")
                    verdict.check(refused.stderr.contains("holds the project lock") && refused.stderr.contains("pid \(getpid())"),
                                  "the refusal does not name the holder: \(refused.stderr.suffix(600))")
                    verdict.check(E2EUpgrade.runIDs(d).isEmpty, "a refused run left a run folder")
                    return "refused (exit \(refused.exitCode)), holder pid named"
                }

                // 2. The moved-aside name exists already. The run id is random, so preflight runs in-process with a
                //    chosen id (the same code the binary runs) after the test created <pgdb>.pg15-<id>.
                try await FaultKillEndToEndTests.scenario(d, "moved-aside name exists", at: "preflight", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    setenv("DOCKER_HOST", E2EEnvironment.dockerHost, 0)
                    let runID = RunID.make()
                    let taken = FaultCampaign.dataDirectory(d) + "/pgdb.pg15-\(runID.rawValue)"
                    try FileManager.default.createDirectory(atPath: taken, withIntermediateDirectories: false)
                    defer { try? FileManager.default.removeItem(atPath: taken) }
                    let runner = LiveCommandRunner()
                    let environment = ProcessInfo.processInfo.environment.merging(E2EEnvironment.childEnvironment) { $1 }
                    let project = try await ComposeProject.load(options: ComposeOptions(projectDirectory: d.path), runner: runner, environment: environment, currentDirectory: d.path)
                    do {
                        _ = try await PgUpgradePreflight(project: project, options: PgUpgradeOptions(targetMajor: 18), runner: runner, runID: runID, environment: environment).run()
                        verdict.fail("preflight accepted a run whose moved-aside name \(taken) exists")
                    } catch {
                        let message = "\(error)"
                        outputs.add("preflight (aside taken)", message)
                        verdict.check(message.contains("pgdb.pg15-\(runID.rawValue) already exists"), "unexpected refusal: \(message)")
                    }
                    verdict.check(FileManager.default.fileExists(atPath: taken), "the existing directory was touched")
                    return "refused in preflight (names the directory)"
                }

                // 3. The target image missing from the registry (postgres:17-bookworm exists nowhere): refused
                //    before any change. The deployment runs postgres:15-bookworm (the same server) for this one.
                let original = try d.read("docker-compose.yml")
                try d.write("docker-compose.yml", original.replacingOccurrences(of: "    image: postgres:15\n", with: "    image: postgres:15-bookworm\n"))
                try await d.up()
                try await FaultKillEndToEndTests.scenario(d, "target image missing", at: "preflight (pull)", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                    let refused = try await d.upshift(["pg-upgrade", "--to", "17", "--yes"])
                    outputs.add("pg-upgrade --to 17", refused.stdout + refused.stderr)
                    verdict.check(refused.exitCode != 0, "not refused: \(refused)")
                    verdict.check(refused.stderr.contains("postgres:17-bookworm cannot be pulled"), "unclear refusal: \(refused.stderr.suffix(600))")
                    verdict.check(E2EUpgrade.runIDs(d).isEmpty, "a refused run left a run folder")
                    return "refused (exit \(refused.exitCode)) before any change"
                }
                try d.write("docker-compose.yml", original)
                try await d.up()

                // 4. The backup disk fills up during the window's dump (--no-online-prepare): --backup-dir on a tmpfs big enough for preflight,
                //    filled by the test when the dump starts. The run fails, rolls back, says why.
                let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent(E2EEnvironment.uniqueName("upshift-fault-tmpfs")).path
                try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
                let databaseBytes = Int64(try await E2EUpgrade.psql(d, service: FaultCampaign.dbService, "SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datallowconn")) ?? 0
                let size = databaseBytes + databaseBytes / 10 + (64 << 20) + (24 << 20)
                try await Self.mount(mountPoint, bytes: size)
                do {
                    try await FaultKillEndToEndTests.scenario(d, "backup disk full", at: "dump", outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let watcher = FaultAuditWatcher(projectDirectory: d.path)
                        let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes", "--no-online-prepare", "--backup-dir", mountPoint], workingDirectory: d.path)
                        try await watcher.waitForStepStart("dump")
                        let filled = Self.fill(mountPoint, leaving: 32 << 10)
                        let result = try await process.wait(timeout: .seconds(600))
                        outputs.add("pg-upgrade (disk full)", result.stdout + result.stderr)
                        print("--- pg-upgrade with a full backup disk (filled \(filled) bytes)\n\(result.stderr.suffix(2500))")
                        verdict.check(!result.signaled && result.status == 1, "exit is not 1: \(result)")
                        verdict.check(result.stderr.contains("pg-upgrade failed at step dump"), "not failed at dump: \(result.stderr.suffix(800))")
                        let lower = result.stderr.lowercased()
                        verdict.check(lower.contains("no space left") || lower.contains("disk is full"), "the message does not say the disk is full: \(result.stderr.suffix(800))")
                        verdict.check(result.stderr.contains("rollback complete"), "no rollback confirmation")
                        try FaultCampaign.expectNoSecrets(d, outputs: [], backupDirectories: [mountPoint], verdict: verdict)
                        return "failed at dump (disk full), exit \(result.status), rolled back"
                    }
                } catch {
                    await Self.unmount(mountPoint)
                    throw error
                }
                await Self.unmount(mountPoint)

                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }

    static func mount(_ path: String, bytes: Int64) async throws {
        let command = Command("mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0755", "tmpfs", path], timeout: .seconds(30))
        try E2EOutput(try await E2EEnvironment.runner.run(command)).checked("mount tmpfs at \(path)")
    }

    static func unmount(_ path: String) async {
        _ = try? await E2EEnvironment.runner.run(Command("umount", [path], timeout: .seconds(30)))
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes a filler file so that only `leaving` bytes stay free; returns the bytes written.
    static func fill(_ directory: String, leaving: Int64) -> Int64 {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return 0 }
        let free = Int64(stats.f_bavail) * Int64(stats.f_frsize)
        let target = max(0, free - leaving)
        let fd = open(directory + "/filler", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 20)
        var written: Int64 = 0
        while written < target {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, Int(min(Int64(chunk.count), target - written))) }
            if n <= 0 { break }
            written += Int64(n)
        }
        return written
    }
}
