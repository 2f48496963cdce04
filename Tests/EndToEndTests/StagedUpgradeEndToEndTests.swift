import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The pg_upgrade method's staged upgrade (`StagedUpgrade`), as a user runs it on the InvenTree sample:
/// pg_upgrade runs before the window on a private copy of the serving cluster, and the window only renames
/// the result into place.
///
/// 1. Quiet database, `--mode link`: the window takes the prepared branch (none of pg_upgrade's steps runs in it),
///    the configuration came along from the copy, no point of no return is written (the user's cluster was
///    never touched), nothing of the staging is left, and the rollback is a rename — no rebuild from the
///    dump — back to the baseline (a row of the fault table).
/// 2. A row written after staging, before the window (upshift frozen with SIGSTOP when stop-app starts):
///    the window must notice, delete the staged cluster and its copy, upgrade in place (the point of no
///    return is written then), and the row must be there on 18.
@Suite(.serialized)
struct StagedUpgradeEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd
    static let db = FaultCampaign.dbService

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func stagedLinkLeavesOldClusterUntouchedAndWindowFallsBackAfterAWrite() async throws {
        try await E2EUpgrade.timed("staged pg_upgrade --link: quiet run + rollback, then a write before the window") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-staged") { d in
                try await FaultCampaign.prepare(d, megabytes: 8)
                let database = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_NAME"))
                let pgdb = try await PgUpgradeMethodEndToEndTests.customiseConfiguration(d)
                // Quiet: no autovacuum commit between the snapshot and the window.
                _ = try await E2EUpgrade.psql(d, service: Self.db, "ALTER SYSTEM SET autovacuum = off")
                _ = try await E2EUpgrade.psql(d, service: Self.db, "SELECT pg_reload_conf()")
                for name in ["postgres", database] { _ = try await E2EUpgrade.psql(d, service: Self.db, database: name, "VACUUM ANALYZE") }
                let baseline = try await FaultCampaign.Baseline.take(d)
                let verdict = FaultVerdict(scenario: "staged pg_upgrade --link, then rollback", injectedAt: "after start-stack")

                let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--dry-run"])
                try #require(dry.exitCode == 0, "\(dry)")
                #expect(dry.stdout.contains("Choose whether to upgrade a private copy of the cluster before the window"), "\(dry.stdout)")
                #expect(dry.stdout.contains("Before the window, on the private copy: Run pg_upgrade --link"), "\(dry.stdout)")
                #expect(dry.stdout.contains("pg_basebackup") && dry.stdout.contains("-D /upshift-data/pgdb.copy-"), "\(dry.stdout)")

                // 1. Quiet.
                let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--yes"], timeout: .seconds(900))
                try #require(upgrade.exitCode == 0, "\(upgrade.stderr.suffix(2500))")
                let run = try #require(E2EUpgrade.runIDs(d).last)
                let summary = { (step: String) throws -> String in try PrepareOnlineEndToEndTests.summary(d, run: run, step: step) }
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run, step: "decide-staging") == "stage")
                let prepared = try summary("stage-verify")
                #expect(prepared.contains("a copy upgraded into pgdb.staged-\(run) and verified"), "\(prepared)")
                #expect(try summary("check-snapshot").hasPrefix("unchanged since the online snapshot"))
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run) == "prepared")
                #expect(try summary("move-data-aside").contains("pgdb.staged-\(run) -> pgdb"))
                let started = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "step.started" }.compactMap { $0.1["step"] as? String }
                for step in ["init-new-cluster", "pg-upgrade-check", "pg-upgrade", "carry-config", "post-upgrade"] {
                    #expect(started.contains("stage-" + step) || step == "post-upgrade", "\(step) did not run on the copy: \(started)")
                    #expect(!started.contains(step), "\(step) ran in the window: \(started)")
                }
                #expect(try summary("start-new-db").hasPrefix("PostgreSQL 18 ready on the cluster upgraded before the window"))
                #expect(try summary("verify").hasPrefix("identical: verified before the window"))
                try await PrepareOnlineEndToEndTests.expectNotRecreated(d, run: run, service: Self.db)
                let marks = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "point-of-no-return" }
                #expect(marks.isEmpty, "a point of no return was written although the old cluster was never touched")

                // The data and the configuration, on 18.
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                let password = try FaultCampaign.secrets(d)[0]
                let after = try await E2EUpgrade.fingerprint(d, service: Self.db, user: FaultCampaign.dbUser, password: password)
                #expect(E2EUpgrade.tableContent(after) == E2EUpgrade.tableContent(baseline.fingerprint))
                #expect(try await E2EUpgrade.tableCounts(d, service: Self.db) == baseline.counts)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, "SHOW data_checksums") == "off")
                try await PgUpgradeMethodEndToEndTests.expectConfigurationCarried(d, pgdb: pgdb)
                // Nothing of the staging is left: no copy, no staged directory, no container; the old cluster is
                // aside, whole (its pg_control was never renamed by pg_upgrade).
                let entries = FaultCampaign.dataEntries(d)
                #expect(!entries.contains { $0.contains(".staged-") || $0.contains(".copy-") }, "\(entries)")
                let aside = try #require(entries.first { $0.hasPrefix("pgdb.") && $0.contains(run) }, "\(entries)")
                #expect(FileManager.default.fileExists(atPath: FaultCampaign.dataDirectory(d) + "/\(aside)/global/pg_control"))
                let leftovers = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(run)"])
                #expect(leftovers.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(leftovers.stdout)")

                let rollback = try await d.upshift(["rollback", "--yes"])
                verdict.check(rollback.exitCode == 0, "rollback failed: \(rollback.stderr.suffix(1500))")
                verdict.check(!rollback.stderr.contains("old cluster rebuilt from the dump"), "the rollback rebuilt an old cluster that was never touched")
                try await FaultCampaign.expectBack(d, baseline, verdict)
                verdict.check(try await E2EUpgrade.psql(d, service: Self.db, "SHOW work_mem") == "7MB", "work_mem not back")
                verdict.outcome = "upgrade exit 0 (staged, no point of no return); rollback exit \(rollback.exitCode), a rename"
                verdict.record()

                // 2. A write after the staging, before the window.
                let watcher = FaultAuditWatcher(projectDirectory: d.path)
                let process = try FaultProcess(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--yes"], workingDirectory: d.path)
                do {
                    _ = try await watcher.waitForStepStart("stop-app", timeout: .seconds(600))
                    _ = try await process.whileFrozen {
                        try await E2EUpgrade.psql(d, service: Self.db, database: database,
                            "CREATE TABLE upshift_staged_marker (note text); INSERT INTO upshift_staged_marker VALUES ('written after the staging')")
                    }
                } catch {
                    process.send(SIGCONT)
                    process.send(SIGKILL)
                    let output = try? await process.wait(timeout: .seconds(30))
                    print("--- pg-upgrade when stop-app was not seen\n\(output?.stderr.suffix(3000) ?? "")")
                    throw error
                }
                let second = try await process.wait(timeout: .seconds(900))
                try #require(!second.signaled && second.status == 0, "\(second.stderr.suffix(2500))")
                let secondRun = try #require(E2EUpgrade.runIDs(d).last)
                #expect(secondRun != run)
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: secondRun) == "changed")
                #expect(try PrepareOnlineEndToEndTests.summary(d, run: secondRun, step: "discard-staged") == "the staged cluster was deleted")
                #expect(try PrepareOnlineEndToEndTests.summary(d, run: secondRun, step: "pg-upgrade") == "pg_upgrade --link: upgrade complete")
                let secondMarks = try PrepareOnlineEndToEndTests.events(d, run: secondRun).filter { $0.0 == "point-of-no-return" }
                #expect(secondMarks.count == 1, "the in-place --link has its point of no return: \(secondMarks.count)")
                #expect(!FaultCampaign.dataEntries(d).contains { $0.contains(".staged-") || $0.contains(".copy-") }, "\(FaultCampaign.dataEntries(d))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT note FROM upshift_staged_marker") == "written after the staging")
                let left = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(secondRun)"])
                #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")
            }
        }
    }

    /// 3. No room for the copy: the data directory on a tmpfs with less than the copy needs free. The run must
    ///    say so, leave nothing of a copy behind, and upgrade in place in the window (point of no return and
    ///    all) — never fill the volume the production server writes to.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func noRoomForTheCopyUpgradesInTheWindow() async throws {
        try await E2EUpgrade.timed("staged pg_upgrade skipped: no room for the copy") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-noroom") { d in
                try await FaultCampaign.prepare(d)
                let data = FaultCampaign.dataDirectory(d)
                let original = data + ".orig"
                _ = try await d.composeChecked(["stop"])
                let attributes = try FileManager.default.attributesOfItem(atPath: data)
                let used = try #require(Int64(try await Self.run(["du", "-s", "-b", data]).stdout.split(whereSeparator: \.isWhitespace).first ?? ""))
                try FileManager.default.moveItem(atPath: data, toPath: original)
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
                // Room for the in-place upgrade (the new catalog, WAL), not for a copy (the cluster + 256 MiB).
                let mode = String((attributes[.posixPermissions] as? Int ?? 0o755), radix: 8)
                let owner = "uid=\(attributes[.ownerAccountID] as? Int ?? 0),gid=\(attributes[.groupOwnerAccountID] as? Int ?? 0)"
                let mounted = try await Self.run(["mount", "-t", "tmpfs", "-o", "size=\(used + (128 << 20)),mode=\(mode),\(owner)", "tmpfs", data])
                try #require(mounted.exitCode == 0, "\(mounted)")
                do {
                    let copied = try await Self.run(["cp", "-a", original + "/.", data + "/"])
                    try #require(copied.exitCode == 0, "\(copied)")
                    try FileManager.default.removeItem(atPath: original)
                    try await d.up()
                    let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--yes"], timeout: .seconds(900))
                    try #require(upgrade.exitCode == 0, "\(upgrade.stderr.suffix(2500))")
                    let run = try #require(E2EUpgrade.runIDs(d).last)
                    let prepared = try PrepareOnlineEndToEndTests.summary(d, run: run, step: "decide-staging")
                    #expect(try PrepareOnlineEndToEndTests.decision(d, run: run, step: "decide-staging") == "in-window")
                    #expect(prepared.contains("no staged upgrade (a copy of the") && prepared.contains("free in bind directory"), "\(prepared)")
                    #expect(prepared.hasSuffix("the window upgrades in place"), "\(prepared)")
                    #expect(try PrepareOnlineEndToEndTests.summary(d, run: run, step: "pg-upgrade") == "pg_upgrade --link: upgrade complete")
                    #expect(try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "point-of-no-return" }.count == 1)
                    #expect(!FaultCampaign.dataEntries(d).contains { $0.contains(".copy-") || $0.contains(".staged-") }, "\(FaultCampaign.dataEntries(d))")
                    #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                    let left = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(run)"])
                    #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")
                } catch {
                    _ = try? await d.compose(["down"])
                    _ = try? await Self.run(["umount", data])
                    throw error
                }
                _ = try await d.compose(["down"])
                let unmounted = try await Self.run(["umount", data])
                #expect(unmounted.exitCode == 0, "\(unmounted)")
            }
        }
    }

    /// 4. An unlogged table: a base backup copies none of its rows, so the run must not stage, and the row
    ///    must be there after the in-window upgrade (`--mode copy`, which needs no dump). Under
    ///    `scripts/test --full` only (CI time): CI's staged runs go through the same obstacle query (`PrivateCopy.obstacle`).
    @Test(.enabled(if: enabled && E2EEnvironment.full, "\(E2EEnvironment.full ? E2EEnvironment.skipReason : "scripts/test --full only")"))
    func unloggedTableIsNotStaged() async throws {
        try await E2EUpgrade.timed("staged pg_upgrade skipped: an unlogged table") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-unlogged") { d in
                try await FaultCampaign.prepare(d)
                let database = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_NAME"))
                _ = try await E2EUpgrade.psql(d, service: Self.db, database: database,
                    "CREATE UNLOGGED TABLE upshift_scratch (note text); INSERT INTO upshift_scratch VALUES ('kept although unlogged')")
                let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--yes"], timeout: .seconds(900))
                try #require(upgrade.exitCode == 0, "\(upgrade.stderr.suffix(2500))")
                let run = try #require(E2EUpgrade.runIDs(d).last)
                let prepared = try PrepareOnlineEndToEndTests.summary(d, run: run, step: "decide-staging")
                #expect(prepared.contains("no staged upgrade (\(database).public.upshift_scratch is UNLOGGED"), "\(prepared)")
                #expect(try PrepareOnlineEndToEndTests.summary(d, run: run, step: "pg-upgrade") == "pg_upgrade --copy: upgrade complete")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT note FROM upshift_scratch") == "kept although unlogged")
                #expect(!FaultCampaign.dataEntries(d).contains { $0.contains(".copy-") || $0.contains(".staged-") }, "\(FaultCampaign.dataEntries(d))")
            }
        }
    }

    /// 5. An application that keeps writing: a row written after the online snapshot, before staging (upshift
    ///    frozen with SIGSTOP while it fingerprints from the snapshot), and another when the window opens (frozen
    ///    when stop-app starts). A staged upgrade of a copy could never be used, so `decide-staging` starts a
    ///    standby on the copy instead; the window proves it replayed the old server's shutdown checkpoint,
    ///    promotes and upgrades it (`--link`, no dump, no point of no return), and both rows are on 18. The
    ///    rollback is a rename back to the old cluster, which was never touched.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func writingApplicationIsFollowedByAStandby() async throws {
        try await E2EUpgrade.timed("staged pg_upgrade: a standby follows a writing application") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-standby") { d in
                try await FaultCampaign.prepare(d)
                let database = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_NAME"))
                let watcher = FaultAuditWatcher(projectDirectory: d.path)
                let process = try FaultProcess(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--yes"], workingDirectory: d.path)
                do {
                    _ = try await watcher.waitForProgress("prepare-online", prefix: "checksum ")
                    _ = try await process.whileFrozen {
                        try await E2EUpgrade.psql(d, service: Self.db, database: database,
                            "CREATE TABLE upshift_standby_marker (id serial, note text); INSERT INTO upshift_standby_marker (note) VALUES ('written before the staging')")
                    }
                    _ = try await watcher.waitForStepStart("stop-app", timeout: .seconds(600))
                    _ = try await process.whileFrozen {
                        try await E2EUpgrade.psql(d, service: Self.db, database: database, "INSERT INTO upshift_standby_marker (note) VALUES ('written as the window opens')")
                    }
                } catch {
                    process.send(SIGCONT)
                    process.send(SIGKILL)
                    let output = try? await process.wait(timeout: .seconds(30))
                    print("--- pg-upgrade when the online fingerprint or stop-app was not seen\n\(output?.stderr.suffix(3000) ?? "")")
                    throw error
                }
                let upgrade = try await process.wait(timeout: .seconds(900))
                try #require(!upgrade.signaled && upgrade.status == 0, "\(upgrade.stderr.suffix(2500))")
                let run = try #require(E2EUpgrade.runIDs(d).last)
                let summary = { (step: String) throws -> String in try PrepareOnlineEndToEndTests.summary(d, run: run, step: step) }
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run, step: "decide-staging") == "standby")
                #expect(try summary("decide-staging").hasPrefix("the application wrote since the online snapshot (1 transaction(s) committed"))
                #expect(try summary("stage-standby").hasPrefix("copied to pgdb.copy-\(run); a standby follows the serving cluster"))
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run) == "standby")
                let promoted = try summary("promote-standby")
                #expect(promoted.contains("past the old server's shutdown checkpoint at") && promoted.hasSuffix("sequence value(s) set to the old cluster's, shut down cleanly"), "\(promoted)")
                #expect(try summary("pg-upgrade").hasPrefix("pg_upgrade --link of the promoted copy: upgrade complete"))
                #expect(try summary("start-new-db").hasPrefix("PostgreSQL 18 ready on the cluster upgraded before the window"))
                // Verification in proportion to the change: the tables written since the snapshot are scanned
                // on both sides, the others keep the snapshot's fingerprint and have their files' sizes checked.
                let old = try summary("fingerprint-old")
                let counts = old.split(separator: " ").prefix(3)
                let scanned = Int(counts.first ?? "") ?? -1
                let total = Int(counts.last ?? "") ?? -1
                #expect(scanned >= 1 && scanned < total && old.contains("tables changed since the snapshot and fingerprinted"), "\(old)")
                let verified = try summary("verify")
                #expect(verified.hasPrefix("identical") && verified.contains("tables unchanged since the snapshot were not scanned again"), "\(verified)")
                // ...and once the application runs, every table is read again inside a snapshot taken at the end of
                // the window and compared with the old cluster's fingerprint.
                #expect(upgrade.stderr.contains("full recheck after the window, with the application running: every table identical again (\(total) tables"), "\(upgrade.stderr.suffix(1500))")
                let recheck = try PrepareOnlineEndToEndTests.events(d, run: run).first { $0.0 == "verify.recheck" }
                #expect(recheck?.1["outcome"] as? String == "identical", "\(String(describing: recheck))")
                #expect(FileManager.default.fileExists(atPath: d.url(".upshift/runs/\(run)/fingerprint-recheck.json").path))
                let started = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "step.started" }.compactMap { $0.1["step"] as? String }
                #expect(!started.contains("dump") && !started.contains("stage-copy"), "\(started)")
                let marks = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "point-of-no-return" }
                #expect(marks.isEmpty, "a point of no return was written although the old cluster was never touched")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT string_agg(note, ' | ' ORDER BY id) FROM upshift_standby_marker")
                    == "written before the staging | written as the window opens")
                let entries = FaultCampaign.dataEntries(d)
                #expect(!entries.contains { $0.contains(".copy-") || $0.contains(".staged-") }, "\(entries)")
                let leftovers = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(run)"])
                #expect(leftovers.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(leftovers.stdout)")

                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 0, "\(rollback.stderr.suffix(1500))")
                #expect(!rollback.stderr.contains("old cluster rebuilt from the dump"), "\(rollback.stderr.suffix(1500))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 15)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT count(*) FROM upshift_standby_marker") == "2")
            }
        }
    }

    /// A host command (mount, cp, du) of the test itself.
    static func run(_ argv: [String]) async throws -> E2EOutput {
        E2EOutput(try await E2EEnvironment.runner.run(Command(argv[0], Array(argv.dropFirst()), timeout: .seconds(300))))
    }
}
