import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The dump method's replica (`StageSubscriberStep`), as a user with a writing application runs it: the
/// InvenTree sample with `wal_level=logical` (the user's own setting; upshift never changes it).
///
/// 1. A row written after the online snapshot (upshift frozen while it fingerprints), so the cluster restored
///    from the snapshot could never be used; a replica follows instead. Another row, and one into a table
///    without a primary key, when the window opens (frozen as stop-app starts): the window must wait for the
///    replica to confirm them. No dump and no restore run in the window, only the changed tables are
///    scanned, every row is on 18, and nothing of the replication is left on either cluster. The rollback
///    brings back the old cluster without slot or publication.
/// 2. DDL, a large object or a refreshed materialized view after the replica was built (frozen as stop-app
///    starts): replication carries none of them, so the window must say which, end replication, and dump and
///    restore instead.
/// 3. Fault rows: kill -9 while the replica follows (before the window) and during the catch-up proof (in
///    the window); the rollback removes the replica and its directory and drops the run's slots and
///    publications on the old server, and the data equals the baseline.
/// 4. The pg_upgrade method's `logical` branch: upgraded before the window from a standby promoted exactly
///    where the run's slots begin, then a replica like the dump method's; with its own fault rows.
@Suite(.serialized)
struct LogicalReplicaEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd
    static let db = FaultCampaign.dbService

    /// The sample with the database server started with `wal_level=logical`.
    static func prepare(_ d: E2EDeployment) async throws -> String {
        let compose = try d.read("docker-compose.yml")
        let image = "    image: postgres:15\n"
        try #require(compose.contains(image))
        try d.write("docker-compose.yml", compose.replacingOccurrences(of: image, with: image + "    command: [\"postgres\", \"-c\", \"wal_level=logical\"]\n"))
        try await FaultCampaign.prepare(d)
        let database = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_NAME"))
        #expect(try await E2EUpgrade.psql(d, service: db, "SHOW wal_level") == "logical")
        _ = try await E2EUpgrade.psql(d, service: db, database: database,
            "CREATE TABLE upshift_replica_marker (id serial PRIMARY KEY, note text); CREATE TABLE upshift_replica_log (note text)")
        return database
    }

    /// Starts `pg-upgrade` (dump method), writes `afterSnapshot` while it fingerprints the snapshot and
    /// `atWindow` as stop-app starts, each with upshift frozen; returns the finished run.
    static func upgrade(_ d: E2EDeployment, database: String, afterSnapshot: String, atWindow: String, method: [String] = ["--method", "dump"]) async throws -> (FaultRunOutput, String) {
        let watcher = FaultAuditWatcher(projectDirectory: d.path)
        let process = try FaultProcess(["pg-upgrade", "--to", "18"] + method + ["--yes"], workingDirectory: d.path)
        do {
            _ = try await watcher.waitForProgress("prepare-online", prefix: "checksum ")
            _ = try await process.whileFrozen { try await E2EUpgrade.psql(d, service: db, database: database, afterSnapshot) }
            _ = try await watcher.waitForStepStart("stop-app", timeout: .seconds(600))
            _ = try await process.whileFrozen { try await E2EUpgrade.psql(d, service: db, database: database, atWindow) }
        } catch {
            process.send(SIGKILL)
            let output = try? await process.wait(timeout: .seconds(30))
            print("--- pg-upgrade when the online fingerprint or stop-app was not seen\n\(output?.stderr.suffix(3000) ?? "")")
            throw error
        }
        let output = try await process.wait(timeout: .seconds(900))
        try #require(!output.signaled && output.status == 0, "\(output.stderr.suffix(2500))")
        return (output, try #require(E2EUpgrade.runIDs(d).last))
    }

    /// The run's replication slots and publications on the server running now, in every database.
    static func leftovers(_ d: E2EDeployment, database: String) async throws -> String {
        let slots = try await E2EUpgrade.psql(d, service: db, "SELECT string_agg(slot_name, ',') FROM pg_replication_slots")
        let publications = try await E2EUpgrade.psql(d, service: db, database: database, "SELECT string_agg(pubname, ',') FROM pg_publication")
        let subscriptions = try await E2EUpgrade.psql(d, service: db, database: database, "SELECT string_agg(subname, ',') FROM pg_subscription")
        return slots + publications + subscriptions
    }

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func writingApplicationIsFollowedByAReplica() async throws {
        try await E2EUpgrade.timed("dump method: a logical replica follows a writing application") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-replica") { d in
                let database = try await Self.prepare(d)
                let (upgrade, run) = try await Self.upgrade(
                    d, database: database,
                    afterSnapshot: "INSERT INTO upshift_replica_marker (note) VALUES ('written after the snapshot')",
                    atWindow: "INSERT INTO upshift_replica_marker (note) VALUES ('written as the window opens'); INSERT INTO upshift_replica_log VALUES ('no primary key')")
                let summary = { (step: String) throws -> String in try PrepareOnlineEndToEndTests.summary(d, run: run, step: step) }
                #expect(try summary("stage-new-cluster").hasPrefix("not staged: changed since the online snapshot"))
                let staged = try summary("stage-subscriber")
                // The postgres database holds no table: only the application's is followed.
                #expect(staged.hasPrefix("a PostgreSQL 18 replica follows 1 database(s)") && staged.contains("(1 without a replica identity, for inserts only)"), "\(staged)")
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run) == "subscribed")
                // One step scans both servers at once, each in proportion to what was written.
                let verified = try summary("verify-replica")
                #expect(verified.hasPrefix("identical: replica: ") && verified.contains("sequence value(s) set; old cluster: "), "\(verified)")
                let old = verified.components(separatedBy: "; old cluster: ").last ?? ""
                let counts = old.split(separator: " ").prefix(3)
                let scanned = Int(counts.first ?? "") ?? -1
                let total = Int(counts.last ?? "") ?? -1
                #expect(scanned >= 2 && scanned < total && old.contains("tables changed since the snapshot and fingerprinted"), "\(verified)")
                #expect(try summary("stop-db") == "clean shutdown (pg_controldata: shut down); the replica too")
                #expect(try summary("start-new-db").hasPrefix("PostgreSQL 18 ready on the cluster"))
                try await PrepareOnlineEndToEndTests.expectNotRecreated(d, run: run, service: Self.db)
                // Only the run's own publications touched the catalogs, and they are gone again: the schema
                // is known unchanged without a pg_dump in the window.
                let checks = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "step.progress" && $0.1["step"] as? String == "check-snapshot" }.compactMap { $0.1["message"] as? String }
                #expect(checks.contains { $0.hasPrefix("schema unchanged since the replica was built: no catalog row of ") }, "\(checks)")
                let started = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "step.started" }.compactMap { $0.1["step"] as? String }
                #expect(!started.contains("dump") && !started.contains("restore") && !started.contains("discard-staged"), "\(started)")
                #expect(upgrade.stderr.contains("full recheck after the window, with the application running: every table identical again"), "\(upgrade.stderr.suffix(1500))")
                #expect(!upgrade.stderr.contains("NOTICE"), "\(upgrade.stderr.suffix(1500))")

                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT string_agg(note, ' | ' ORDER BY id) FROM upshift_replica_marker")
                    == "written after the snapshot | written as the window opens")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT string_agg(note, ',') FROM upshift_replica_log") == "no primary key")
                // The sequence went on where the old cluster left it.
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT nextval('upshift_replica_marker_id_seq')") == "3")
                #expect(try await Self.leftovers(d, database: database) == "")
                let entries = FaultCampaign.dataEntries(d)
                #expect(!entries.contains { $0.contains(".staged-") }, "\(entries)")
                let containers = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(run)"])
                #expect(containers.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(containers.stdout)")

                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 0, "\(rollback.stderr.suffix(1500))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 15)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT count(*) FROM upshift_replica_marker") == "2")
                #expect(try await Self.leftovers(d, database: database) == "")
            }
        }
    }

    /// 4. `--method pg_upgrade --mode link` with a writing application: the copy follows as a standby, is
    ///    promoted exactly where the run's logical slots begin, upgraded with pg_upgrade before the window and
    ///    then follows by logical replication, so the window runs no pg_upgrade, no dump and no promotion. A
    ///    writer inserts rows without pause from the snapshot until stop-app starts, through the promotion
    ///    at the slots' start: on 18 the ids have no gap and none is doubled (a doubled row would stop the
    ///    replica on its primary key and send the window to the fallback).
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func pgUpgradeLinkIsUpgradedBeforeTheWindowAndFollowsLogically() async throws {
        try await E2EUpgrade.timed("pg_upgrade --link: upgraded before the window, then a logical replica") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-logical") { d in
                let database = try await Self.prepare(d)
                let watcher = FaultAuditWatcher(projectDirectory: d.path)
                // Stopped between two inserts, never during one: a cancelled insert may have committed.
                let stop = StopFlag()
                let writer = Task { () -> Int in
                    var written = 0
                    while !stop.isSet {
                        if (try? await E2EUpgrade.psql(d, service: Self.db, database: database, "INSERT INTO upshift_replica_marker (note) VALUES ('writer')")) != nil { written += 1 }
                    }
                    return written
                }
                let process = try FaultProcess(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--yes"], workingDirectory: d.path)
                do {
                    _ = try await watcher.waitForStepStart("stop-app", timeout: .seconds(600))
                    _ = try await process.whileFrozen {
                        stop.set()
                        _ = await writer.value
                        _ = try await E2EUpgrade.psql(d, service: Self.db, database: database, "INSERT INTO upshift_replica_log VALUES ('as the window opens')")
                    }
                } catch {
                    stop.set()
                    process.send(SIGKILL)
                    let output = try? await process.wait(timeout: .seconds(30))
                    print("--- pg-upgrade when stop-app was not seen\n\(output?.stderr.suffix(3000) ?? "")")
                    throw error
                }
                let written = await writer.value
                print("pgu-logical: the writer committed \(written) rows before the window")
                let upgrade = try await process.wait(timeout: .seconds(900))
                try #require(!upgrade.signaled && upgrade.status == 0, "\(upgrade.stderr.suffix(2500))")
                let run = try #require(E2EUpgrade.runIDs(d).last)
                let summary = { (step: String) throws -> String in try PrepareOnlineEndToEndTests.summary(d, run: run, step: step) }
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run, step: "decide-staging") == "logical")
                let promoted = try summary("stage-promote-at-slots")
                #expect(promoted.hasPrefix("slots for 1 database(s) begin at ") && promoted.hasSuffix("the standby replayed exactly up to there, promoted and shut down cleanly"), "\(promoted)")
                let subscribed = try summary("stage-subscribe-upgraded")
                #expect(subscribed.contains("follows 1 database(s) from ") && subscribed.contains("equals the snapshot where nothing was written"), "\(subscribed)")
                #expect(try PrepareOnlineEndToEndTests.decision(d, run: run) == "subscribed")
                let verified = try summary("verify-replica")
                #expect(verified.hasPrefix("identical: "), "\(verified)")
                try await PrepareOnlineEndToEndTests.expectNotRecreated(d, run: run, service: Self.db)
                let started = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "step.started" }.compactMap { $0.1["step"] as? String }
                #expect(started.contains("stage-pg-upgrade") && started.contains("stage-promote-at-slots"), "\(started)")
                let window = started.drop { $0 != "stop-app" }
                #expect(!window.contains("pg-upgrade") && !window.contains("promote-standby") && !window.contains("dump") && !window.contains("discard-staged"), "\(started)")
                let marks = try PrepareOnlineEndToEndTests.events(d, run: run).filter { $0.0 == "point-of-no-return" }
                #expect(marks.isEmpty, "a point of no return was written although the old cluster was never touched")
                #expect(upgrade.stderr.contains("full recheck after the window, with the application running: every table identical again"), "\(upgrade.stderr.suffix(1500))")

                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                #expect(written > 0)
                let rows = try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT count(*) || ' ' || coalesce(max(id), 0) || ' ' || count(DISTINCT id) FROM upshift_replica_marker")
                #expect(rows == "\(written) \(written) \(written)", "rows, max id, distinct ids on 18 after \(written) committed inserts: \(rows)")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT string_agg(note, ',') FROM upshift_replica_log") == "as the window opens")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT nextval('upshift_replica_marker_id_seq')") == "\(written + 1)")
                #expect(try await Self.leftovers(d, database: database) == "")
                let entries = FaultCampaign.dataEntries(d)
                #expect(!entries.contains { $0.contains(".staged-") || $0.contains(".copy-") }, "\(entries)")
                let containers = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(run)"])
                #expect(containers.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(containers.stdout)")

                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 0, "\(rollback.stderr.suffix(1500))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 15)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT count(*) FROM upshift_replica_marker") == "\(written)")
                #expect(try await Self.leftovers(d, database: database) == "")
            }
        }
    }

    /// A row after the snapshot (so the replica is built), then `atWindow` as stop-app starts, which the replica
    /// cannot stand in for: the window must end replication, say `reason`, dump and restore onto 18, and leave
    /// nothing of the replication behind. The caller checks the data on 18.
    static func fallsBack(_ d: E2EDeployment, database: String, atWindow: String, reason: String) async throws {
        let (_, run) = try await upgrade(
            d, database: database,
            afterSnapshot: "INSERT INTO upshift_replica_marker (note) VALUES ('written after the snapshot')", atWindow: atWindow)
        #expect(try PrepareOnlineEndToEndTests.summary(d, run: run, step: "stage-subscriber").hasPrefix("a PostgreSQL 18 replica follows"))
        let events = try PrepareOnlineEndToEndTests.events(d, run: run)
        let decided = events.first { $0.0 == "plan.decided" && $0.1["step"] as? String == "check-snapshot" }
        #expect(decided?.1["branch"] as? String == "changed")
        #expect((decided?.1["reason"] as? String ?? "").contains(reason), "\(String(describing: decided))")
        let started = events.filter { $0.0 == "step.started" }.compactMap { $0.1["step"] as? String }
        #expect(started.contains("discard-staged") && started.contains("restore"), "\(started)")
        #expect(try await E2EUpgrade.serverMajor(d, service: db) == 18)
        #expect(try await leftovers(d, database: database) == "")
    }

    /// Under `scripts/test --full` only (CI time): the digest that tells a schema change is unit-tested
    /// (`CatalogVersionsTests`, `LogicalReplicaPlanTests`), and the branch it falls back to is the `changed` one
    /// every other test runs.
    @Test(.enabled(if: enabled && E2EEnvironment.full, "\(E2EEnvironment.full ? E2EEnvironment.skipReason : "scripts/test --full only")"))
    func schemaChangeAfterTheReplicaWasBuiltFallsBackToDumpAndRestore() async throws {
        try await E2EUpgrade.timed("dump method: DDL after the replica was built, the window dumps and restores") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-replica-ddl") { d in
                let database = try await Self.prepare(d)
                try await Self.fallsBack(
                    d, database: database,
                    atWindow: "ALTER TABLE upshift_replica_marker ADD COLUMN flag int DEFAULT 7; INSERT INTO upshift_replica_marker (note) VALUES ('written with the new column')",
                    reason: "the schema of \(database) changed since the replica was built")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT string_agg(note || ':' || flag, ' | ' ORDER BY id) FROM upshift_replica_marker")
                    == "written after the snapshot:7 | written with the new column:7")
                let rollback = try await d.upshift(["rollback", "--yes"])
                #expect(rollback.exitCode == 0, "\(rollback.stderr.suffix(1500))")
                #expect(try await Self.leftovers(d, database: database) == "")
            }
        }
    }

    /// Under `scripts/test --full` only (CI time): a large object created after the replica was built is not
    /// replicated, so the window must not use the replica: it dumps and restores, and the object is on 18.
    @Test(.enabled(if: enabled && E2EEnvironment.full, "\(E2EEnvironment.full ? E2EEnvironment.skipReason : "scripts/test --full only")"))
    func largeObjectAfterTheReplicaWasBuiltFallsBackToDumpAndRestore() async throws {
        try await E2EUpgrade.timed("dump method: a large object after the replica was built, the window dumps and restores") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-replica-lo") { d in
                let database = try await Self.prepare(d)
                try await Self.fallsBack(
                    d, database: database, atWindow: "SELECT lo_from_bytea(0, convert_to('attachment', 'UTF8'))",
                    reason: "1 large object(s) were created in \(database) since the replica was built")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata") == "attachment")
            }
        }
    }

    /// Under `scripts/test --full` only (CI time): a materialized view without data when the replica was built
    /// (so staging allowed it), refreshed as the window opens. Replication never fills it, so the window must
    /// dump and restore, and the view answers on 18.
    @Test(.enabled(if: enabled && E2EEnvironment.full, "\(E2EEnvironment.full ? E2EEnvironment.skipReason : "scripts/test --full only")"))
    func refreshedMaterializedViewFallsBackToDumpAndRestore() async throws {
        try await E2EUpgrade.timed("dump method: a materialized view refreshed after the replica was built, the window dumps and restores") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgu-replica-mv") { d in
                let database = try await Self.prepare(d)
                _ = try await E2EUpgrade.psql(d, service: Self.db, database: database,
                    "CREATE MATERIALIZED VIEW upshift_replica_summary AS SELECT count(*) AS n FROM upshift_replica_marker WITH NO DATA")
                try await Self.fallsBack(
                    d, database: database, atWindow: "REFRESH MATERIALIZED VIEW upshift_replica_summary",
                    reason: "materialized view public.upshift_replica_summary in \(database) was refreshed since the replica was built")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT n FROM upshift_replica_summary") == "1")
            }
        }
    }

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func killWhileTheReplicaFollowsAndDuringTheCatchUp() async throws {
        try await E2EUpgrade.timed("fault campaign: kill -9 with a logical replica following, and during its catch-up") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-replica") { d in
                let database = try await Self.prepare(d)
                let outputs = FaultOutputs()
                for (point, step, prefix) in [
                    ("stage-subscriber (dump, replica following)", "stage-subscriber", "copying tables into the replica"),
                    ("check-snapshot (dump, the replica's catch-up)", "check-snapshot", "waiting for the replica to confirm"),
                ] {
                    try await FaultKillEndToEndTests.scenario(d, "kill -9", at: point, outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let (runID, _) = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--method", "dump"]) { watcher, process in
                            _ = try await watcher.waitForProgress("prepare-online", prefix: "checksum ")
                            _ = try await process.whileFrozen { try await E2EUpgrade.psql(d, service: Self.db, "SELECT txid_current()") }
                            _ = try await watcher.waitForProgress(step, prefix: prefix)
                        }
                        let replica = try await E2EEnvironment.docker(["ps", "-q", "--filter", "name=upshift-subscriber-\(runID)"])
                        verdict.check(!replica.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no replica was running when upshift was killed at \(point)")
                        let exit = try await FaultKillEndToEndTests.rollbackRemovesStaging(d, verdict, outputs: outputs, runID: runID, point: point)
                        let left = try await Self.leftovers(d, database: database)
                        verdict.check(left.isEmpty, "replication objects remain on the old server: \(left)")
                        return "killed with the replica following; rollback exit \(exit) (replica and staged directory removed, slots and publications dropped)"
                    }
                }
                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }

    /// Fault rows of the pg_upgrade method's `logical` branch: kill -9 while the standby replays up to the
    /// slots' start (the run's publications, logical slots and the physical slot exist on the serving
    /// cluster), and while the upgraded copy subscribes (the copy deleted, the replica running). The rollback
    /// must remove the containers and both directories and drop every slot and publication of the run.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func killWhileTheCopyIsPromotedAtTheSlotsAndWhileItSubscribes() async throws {
        try await E2EUpgrade.timed("fault campaign: kill -9 while the standby is promoted at the slots, and while the upgraded copy subscribes") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-pgu-logical") { d in
                let database = try await Self.prepare(d)
                let outputs = FaultOutputs()
                // The standby runs only briefly once the slots exist (it promotes within a second), so only the
                // replica's container is required to be running at the kill; the slots are, at both points.
                for (point, step, prefix, container) in [
                    ("stage-promote-at-slots (pg_upgrade, standby replaying to the slots)", "stage-promote-at-slots", "replaying the standby up to", nil),
                    ("stage-subscribe-upgraded (pg_upgrade, upgraded copy subscribing)", "stage-subscribe-upgraded", "subscribing ", "upshift-subscriber-"),
                ] as [(String, String, String, String?)] {
                    try await FaultKillEndToEndTests.scenario(d, "kill -9", at: point, outputs: outputs, rollbackAfter: false) { d, verdict, _ in
                        let (runID, _) = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--method", "pg_upgrade", "--mode", "link"]) { watcher, process in
                            _ = try await watcher.waitForProgress("prepare-online", prefix: "checksum ")
                            _ = try await process.whileFrozen { try await E2EUpgrade.psql(d, service: Self.db, "SELECT txid_current()") }
                            _ = try await watcher.waitForProgress(step, prefix: prefix)
                        }
                        if let container {
                            let running = try await E2EEnvironment.docker(["ps", "-q", "--filter", "name=\(container)\(runID)"])
                            verdict.check(!running.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no \(container)\(runID) was running when upshift was killed at \(point)")
                        }
                        let slots = try await E2EUpgrade.psql(d, service: Self.db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'upshift\\_%'")
                        verdict.check(slots != "0", "no slot of the run existed when upshift was killed at \(point)")
                        let exit = try await FaultKillEndToEndTests.rollbackRemovesStaging(d, verdict, outputs: outputs, runID: runID, point: point)
                        let left = try await Self.leftovers(d, database: database)
                        verdict.check(left.isEmpty, "replication objects remain on the old server: \(left)")
                        return "killed at \(step); rollback exit \(exit) (containers and staged directories removed, slots and publications dropped)"
                    }
                }
                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }
}

/// A flag one task sets and another polls.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
