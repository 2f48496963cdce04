import Foundation
import Testing
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `pg-upgrade --method pg_upgrade` as a user runs it, against the test stack's `tianon/postgres-upgrade`
/// images (both majors' binaries, tianon's entrypoint and its traps: 18's initdb enables checksums, the new
/// pg_hba.conf has no `host all all all` line).
///
/// Each scenario checks from outside upshift: the server's major, the test's own libpq fingerprint and psql
/// row counts, settings through `SHOW`, files on disk, the audit log. Undo scenarios end with the fault
/// campaign's full "back as before" check and add a row to its table.
@Suite(.serialized)
struct PgUpgradeMethodEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd
    static let db = FaultCampaign.dbService

    // MARK: - link: config carried, point of no return audited, rollback rebuilds from the dump

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func linkCarriesConfigurationThenRollbackRebuildsFromDump() async throws {
        try await E2EUpgrade.timed("pg_upgrade --link + rollback from the dump") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-link") { d in
                try await FaultCampaign.prepare(d)
                let pgdb = try await Self.customiseConfiguration(d)
                let baseline = try await FaultCampaign.Baseline.take(d)
                let verdict = FaultVerdict(scenario: "pg_upgrade --link, then rollback", injectedAt: "after the point of no return")
                var outputs: [(String, String)] = []

                let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--dry-run"])
                outputs.append(("dry-run", dry.stdout + dry.stderr))
                #expect(dry.exitCode == 0, "\(dry)")
                #expect(dry.stdout.contains("tianon/postgres-upgrade:15-to-18"), "\(dry.stdout)")
                #expect(dry.stdout.contains("--link") && dry.stdout.contains("POINT OF NO RETURN"), "\(dry.stdout)")
                #expect(E2EUpgrade.runIDs(d).isEmpty)

                let upgrade = try await E2EUpgrade.timed("  pg-upgrade --method pg_upgrade --mode link") {
                    // In the window, as when the mount has no room for the staged copy (StagedUpgradeEndToEndTests).
                    try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--no-online-prepare", "--yes"])
                }
                outputs.append(("pg-upgrade", upgrade.stdout + upgrade.stderr))
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                let runID = try #require(E2EUpgrade.runIDs(d).last)

                // The data: same rows and checksums, on 18, checksums still off like the old cluster.
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                let password = try FaultCampaign.secrets(d)[0]
                let after = try await E2EUpgrade.fingerprint(d, service: Self.db, user: FaultCampaign.dbUser, password: password)
                #expect(E2EUpgrade.tableContent(after) == E2EUpgrade.tableContent(baseline.fingerprint))
                #expect(try await E2EUpgrade.tableCounts(d, service: Self.db) == baseline.counts)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, "SHOW data_checksums") == "off")
                try await Self.expectConfigurationCarried(d, pgdb: pgdb)
                // The upgrade container (one per run, execs for initdb, --check, pg_upgrade, the carry) is gone.
                let leftovers = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(runID)"])
                #expect(leftovers.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "containers of the run remain: \(leftovers.stdout)")
                // The verified dump exists (taken with the old tools), and the audit log names the point of no return.
                let dump = d.path + "/backups/\(d.projectName)-pg15-\(runID)"
                #expect(FileManager.default.fileExists(atPath: dump + "/manifest.json"))
                let audit = try d.read(".upshift/audit.jsonl").split(whereSeparator: \.isNewline)
                let marks = audit.filter { $0.contains("\"event\":\"point-of-no-return\"") }
                #expect(marks.count == 1 && marks[0].contains("\"step\":\"start-new-db\"") && marks[0].contains(runID), "\(marks)")

                let rollback = try await E2EUpgrade.timed("  rollback (rebuild from dump)") { try await d.upshift(["rollback", "--yes"]) }
                outputs.append(("rollback", rollback.stdout + rollback.stderr))
                verdict.check(rollback.exitCode == 0, "rollback failed: \(rollback.stderr.suffix(1200))")
                verdict.check(rollback.stderr.contains("old cluster rebuilt from the dump"), "rollback did not rebuild from the dump: \(rollback.stderr.suffix(1200))")
                verdict.check(rollback.stderr.contains("old fingerprint verified: identical"), "the rebuilt cluster was not verified")
                let kept = FaultCampaign.dataEntries(d).filter { $0.contains(".unusable-\(runID)") }
                verdict.check(kept.count == 1, "the unusable old files are not kept: \(FaultCampaign.dataEntries(d))")
                try await FaultCampaign.expectBack(d, baseline, verdict)
                verdict.check(try await E2EUpgrade.psql(d, service: Self.db, "SHOW work_mem") == "7MB", "work_mem not back on the rebuilt cluster")
                let secrets = try FaultCampaign.expectNoSecrets(d, outputs: outputs, backupDirectories: [d.path + "/backups"], verdict: verdict)
                verdict.outcome = "upgrade exit 0; rollback exit \(rollback.exitCode), rebuilt from the dump; \(secrets)"
                verdict.record()
            }
        }
    }

    // MARK: - swap: the new server dies after the swap; the run undoes itself from the dump

    /// Under `scripts/test --full` only: CI has the rebuild from the dump after the point of no return in
    /// `linkCarriesConfigurationThenRollbackRebuildsFromDump` and in the fault campaign's kill mid --swap.
    @Test(.enabled(if: enabled && E2EEnvironment.full, "\(E2EEnvironment.full ? E2EEnvironment.skipReason : "scripts/test --full only")"))
    func swapThenNewServerCrashRollsBackFromDump() async throws {
        try await E2EUpgrade.timed("pg_upgrade --swap + new server crash") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-swap") { d in
                try await FaultCampaign.prepare(d)
                let baseline = try await FaultCampaign.Baseline.take(d)
                let verdict = FaultVerdict(scenario: "new server crashes (docker kill) after pg_upgrade --swap", injectedAt: "analyze")
                let watcher = FaultAuditWatcher(projectDirectory: d.path)
                let process = try FaultProcess(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "swap", "--no-online-prepare", "--yes"], workingDirectory: d.path)
                do {
                    let mark = try await watcher.waitFor("point-of-no-return") { $0.event == "point-of-no-return" }
                    verdict.check(mark.detail("step") == "pg-upgrade", "the point of no return is not at the pg-upgrade step: \(mark.detail("step") ?? "-")")
                    // Freeze upshift at the start of the post-upgrade step, kill the new server, let upshift go on:
                    // whatever it was doing, verification can no longer succeed.
                    try await watcher.waitForStepStart("analyze")
                    process.send(SIGSTOP)
                    _ = try await d.compose(["kill", Self.db])
                    process.send(SIGCONT)
                } catch {
                    process.send(SIGKILL)
                    _ = try? await process.wait(timeout: .seconds(30))
                    throw error
                }
                let result = try await process.wait(timeout: .seconds(600))
                verdict.check(result.status == 1 && !result.signaled, "pg-upgrade did not fail with exit 1: \(result)")
                verdict.check(result.stderr.contains("old cluster rebuilt from the dump"), "the run did not rebuild the old cluster: \(result.stderr.suffix(1500))")
                verdict.check(result.stderr.contains("rollback complete"), "rollback not complete: \(result.stderr.suffix(800))")
                try await FaultCampaign.expectBack(d, baseline, verdict)
                verdict.outcome = "exit \(result.status), rolled back by itself (old cluster rebuilt from the dump)"
                verdict.record()

                // Second fault on the rolled-back deployment: kill -9 while pg_upgrade --swap is moving files. Its
                // container outlives upshift; `rollback` must stop it before it rebuilds the old cluster.
                let baseline2 = try await FaultCampaign.Baseline.take(d)
                let verdict2 = FaultVerdict(scenario: "kill -9", injectedAt: "pg-upgrade --swap (pg_upgrade running)")
                let watcher2 = FaultAuditWatcher(projectDirectory: d.path)
                let process2 = try FaultProcess(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "swap", "--no-online-prepare", "--yes"], workingDirectory: d.path)
                var runID = ""
                do {
                    let mark = try await watcher2.waitFor("point-of-no-return") { $0.event == "point-of-no-return" }
                    runID = mark.run
                    // pg_upgrade runs as an exec in the run's upgrade container: wait until it is there.
                    try await E2EPoll.until("pg_upgrade running in the run's upgrade container", timeout: .seconds(60), interval: .milliseconds(20)) {
                        let top = try await E2EEnvironment.docker(["top", "upshift-upgrade-\(runID)"])
                        return top.stdout.contains("pg_upgrade --old-bindir")
                    }
                } catch {
                    process2.send(SIGKILL)
                    _ = try? await process2.wait(timeout: .seconds(30))
                    throw error
                }
                process2.send(SIGKILL)
                let killed = try await process2.wait(timeout: .seconds(30))
                verdict2.check(killed.signaled && killed.status == SIGKILL, "upshift did not die of SIGKILL: \(killed)")
                let rollback = try await d.upshift(["rollback", "--yes"])
                verdict2.check(rollback.exitCode == 0, "rollback failed: \(rollback.stderr.suffix(1500))")
                verdict2.check(rollback.stderr.contains("old cluster rebuilt from the dump"), "rollback did not rebuild the old cluster: \(rollback.stderr.suffix(1200))")
                let left = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(runID)"])
                verdict2.check(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "containers of the killed run are still there")
                try await FaultCampaign.expectBack(d, baseline2, verdict2)
                let stopped = rollback.stderr.contains("the interrupted run left running") ? "its pg_upgrade container stopped first" : "its pg_upgrade container had already ended"
                verdict2.outcome = "killed mid pg_upgrade --swap; rollback exit \(rollback.exitCode) (\(stopped), old cluster rebuilt from the dump)"
                verdict2.record()
            }
        }
    }

    // MARK: - copy on a named volume root, clone refused by --check, bad combinations refused

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func copyOnVolumeRootCloneRefusedAndBadInput() async throws {
        try await E2EUpgrade.timed("pg_upgrade --copy (volume root) + clone refused + usage errors") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "pgu-copy") { d in
                let password = try #require(try E2EUpgrade.envValue(d, "DB_PASSWORD"))
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 1)
                let before = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
                let counts = try await E2EUpgrade.tableCounts(d, service: "db")
                let composeBefore = try d.read("docker-compose.yml")

                // Usage errors: exit 64, one clear line, nothing created.
                for (arguments, message) in [
                    (["--method", "pg_upgrade", "--mode", "link"], "error: --mode link needs the old cluster in a sub-directory of its mount"),
                    (["--method", "pg_upgrade", "--mode", "teleport"], "Error: unknown --mode teleport"),
                    (["--mode", "link"], "Error: --mode only applies to --method pg_upgrade"),
                    (["--method", "pg_upgrade", "--upgrade-image", "nosuch/upgrade:1"], "error: the upgrade image nosuch/upgrade:1 cannot be pulled"),
                ] {
                    let refused = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"] + arguments)
                    #expect(refused.exitCode != 0 && refused.stderr.contains(message), "\(arguments): \(refused)")
                }
                #expect(E2EUpgrade.runIDs(d).isEmpty, "a refused run left a run folder")

                // clone: ext4 has no reflinks, so pg_upgrade --check refuses before any old file is touched.
                let clone = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "clone", "--yes"])
                #expect(clone.exitCode == 1, "\(clone)")
                #expect(clone.stderr.contains("failed at step pg-upgrade-check") && clone.stderr.contains("rollback complete"), "\(clone.stderr.suffix(1500))")
                #expect(try d.read("docker-compose.yml") == composeBefore)
                #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)

                // copy, with the cluster at the volume root (the new one goes to a pinned sub-directory).
                let upgrade = try await E2EUpgrade.timed("  pg-upgrade --method pg_upgrade --mode copy (generic)") {
                    try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--yes"])
                }
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                #expect(!upgrade.stderr.contains("POINT OF NO RETURN"))
                #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
                let after = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
                #expect(E2EUpgrade.tableContent(after) == E2EUpgrade.tableContent(before))
                #expect(try await E2EUpgrade.tableCounts(d, service: "db") == counts)

                // Undo of copy is a rename: the untouched old cluster comes back, no dump needed.
                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 0, "\(rollback)")
                #expect(!rollback.stderr.contains("rebuilt from the dump"))
                #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
                let back = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
                #expect(E2EUpgrade.tableContent(back) == E2EUpgrade.tableContent(before))
                #expect(try d.read("docker-compose.yml") == composeBefore)
            }
        }
    }

    /// Custom configuration an upgraded cluster must keep: ALTER SYSTEM, a postgresql.conf line, a pg_hba
    /// line. Returns the path of `pgdb` on the host.
    static func customiseConfiguration(_ d: E2EDeployment) async throws -> String {
        _ = try await E2EUpgrade.psql(d, service: db, "ALTER SYSTEM SET work_mem = '7MB'")
        let pgdb = FaultCampaign.dataDirectory(d) + "/pgdb"
        try append("\nlog_min_duration_statement = 2500\n", to: pgdb + "/postgresql.conf")
        try append("host all all 10.99.0.0/16 scram-sha-256\n", to: pgdb + "/pg_hba.conf")
        return pgdb
    }

    /// The configuration of `customiseConfiguration` came along to 18; pg_upgrade's scripts did not stay in
    /// PGDATA.
    static func expectConfigurationCarried(_ d: E2EDeployment, pgdb: String) async throws {
        #expect(try await E2EUpgrade.psql(d, service: db, "SHOW work_mem") == "7MB")
        #expect(try await E2EUpgrade.psql(d, service: db, "SHOW log_min_duration_statement") == "2500ms")
        #expect(try String(contentsOfFile: pgdb + "/pg_hba.conf", encoding: .utf8).contains("10.99.0.0/16"))
        #expect(try String(contentsOfFile: pgdb + "/PG_VERSION", encoding: .utf8).hasPrefix("18"))
        #expect(!FileManager.default.fileExists(atPath: pgdb + "/delete_old_cluster.sh"))
    }

    static func append(_ text: String, to path: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw E2EFailure("cannot open \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}
