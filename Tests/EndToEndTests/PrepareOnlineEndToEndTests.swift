import Foundation
import Testing
import UpshiftPlans
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The dump and fingerprint taken from a snapshot while the application still serves, as a user runs it.
///
/// 1. A table created, a row written and a sequence moved while the online dump runs (upshift frozen with
///    SIGSTOP at that moment, so the write lands after the snapshot for certain): nothing is staged (the
///    sequence would differ between the dump and the online fingerprint), the window notices, dumps again,
///    and the upgraded cluster holds the row and the sequence's value.
/// 2. A quiet database (autovacuum off, analysed, the stand-in worker only reads): the window reuses the
///    online dump and fingerprint, and the upgrade still verifies.
@Suite(.serialized)
struct PrepareOnlineEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd
    static let db = FaultCampaign.dbService

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func writeDuringOnlineDumpIsKeptAndQuietDatabaseReusesIt() async throws {
        try await E2EUpgrade.timed("online prepare: write during the online dump, then a quiet run") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "online") { d in
                try await FaultCampaign.prepare(d, megabytes: 8)
                let database = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_NAME"))

                // The plan: the online step comes before the application stops, and the option removes it.
                let plan = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
                try #require(plan.exitCode == 0, "\(plan)")
                let online = try #require(plan.stdout.range(of: "[pg.prepare-online"), "\(plan.stdout)")
                let stopApp = try #require(plan.stdout.range(of: "[pg.stop-app"), "\(plan.stdout)")
                #expect(online.lowerBound < stopApp.lowerBound)
                let classic = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run", "--no-online-prepare"])
                try #require(classic.exitCode == 0, "\(classic)")
                #expect(!classic.stdout.contains("prepare-online"), "\(classic.stdout)")
                // Every way the window can go is in the plan, with what decides it.
                for branch in ["if \(Self.whenPrepared): prepared", "if nothing committed since the snapshot, and no cluster was prepared: snapshot", "if a transaction committed or a sequence moved since the snapshot: changed"] {
                    #expect(plan.stdout.contains(branch), "\(branch)\n\(plan.stdout)")
                }
                #expect(!classic.stdout.contains("[pg.check-snapshot"), "no decision without online preparation")

                // 1. Written after the snapshot, before the window.
                _ = try await E2EUpgrade.psql(d, service: Self.db, database: database, "CREATE SEQUENCE upshift_online_counter; SELECT nextval('upshift_online_counter')")
                let watcher = FaultAuditWatcher(projectDirectory: d.path)
                let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes"], workingDirectory: d.path)
                do {
                    try await watcher.waitForProgress("prepare-online", prefix: "pg_dump → db-")
                    process.send(SIGSTOP)
                    _ = try await E2EUpgrade.psql(d, service: Self.db, database: database,
                        "CREATE TABLE upshift_online_marker (note text); INSERT INTO upshift_online_marker VALUES ('written during the online dump'); SELECT nextval('upshift_online_counter')")
                    process.send(SIGCONT)
                } catch {
                    process.send(SIGCONT)
                    process.send(SIGKILL)
                    let output = try? await process.wait(timeout: .seconds(30))
                    print("--- pg-upgrade when the online dump was not seen\n\(output?.stderr.suffix(3000) ?? "")")
                    throw error
                }
                let first = try await process.wait(timeout: .seconds(900))
                try #require(!first.signaled && first.status == 0, "\(first.stderr.suffix(2500))")
                let firstRun = try #require(E2EUpgrade.runIDs(d).last)
                let check = try Self.summary(d, run: firstRun, step: "check-snapshot")
                #expect(check.hasPrefix("changed since the online snapshot (1 transaction(s) committed"), "\(check)")
                #expect(try Self.decision(d, run: firstRun) == "changed")
                let dumped = try Self.summary(d, run: firstRun, step: "dump")
                #expect(!dumped.contains("reused"), "\(dumped)")
                // Nothing was staged from the outdated dump; the window restored afresh.
                let notStaged = try Self.summary(d, run: firstRun, step: "stage-new-cluster")
                #expect(notStaged.hasPrefix("not staged: changed since the online snapshot (1 transaction(s) committed"), "\(notStaged)")
                #expect(notStaged.hasSuffix("the window will dump and restore"), "\(notStaged)")
                // No replica either: the sample's server runs with the image's wal_level, which upshift never changes.
                let noReplica = try Self.summary(d, run: firstRun, step: "stage-subscriber")
                #expect(noReplica.hasPrefix("not used (wal_level is replica, not logical") && noReplica.hasSuffix("the window dumps and restores"), "\(noReplica)")
                #expect(try Self.summary(d, run: firstRun, step: "discard-staged") == "nothing was staged")
                #expect(try Self.summary(d, run: firstRun, step: "restore").hasSuffix("databases restored; every dump file's SHA-256 matches the manifest"))
                #expect(!FaultCampaign.dataEntries(d).contains { $0.contains(".staged-") }, "\(FaultCampaign.dataEntries(d))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT note FROM upshift_online_marker") == "written during the online dump")
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT last_value FROM upshift_online_counter") == "2")

                let rollback = try await d.upshift(["rollback", "--yes"])
                try #require(rollback.exitCode == 0, "\(rollback.stderr.suffix(1500))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 15)

                // 2. Quiet: nothing writes between the snapshot and the window.
                _ = try await E2EUpgrade.psql(d, service: Self.db, "ALTER SYSTEM SET autovacuum = off")
                _ = try await E2EUpgrade.psql(d, service: Self.db, "SELECT pg_reload_conf()")
                for name in ["postgres", database] { _ = try await E2EUpgrade.psql(d, service: Self.db, database: name, "VACUUM ANALYZE") }
                let counts = try await E2EUpgrade.tableCounts(d, service: Self.db, database: database)
                let second = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"], timeout: .seconds(900))
                try #require(second.exitCode == 0, "\(second.stderr.suffix(2500))")
                let secondRun = try #require(E2EUpgrade.runIDs(d).last)
                #expect(secondRun != firstRun)
                let quiet = try Self.summary(d, run: secondRun, step: "check-snapshot")
                #expect(quiet.hasPrefix("unchanged since the online snapshot"), "\(quiet)")
                #expect(try Self.decision(d, run: secondRun) == "prepared")
                let reused = try Self.summary(d, run: secondRun, step: "dump")
                #expect(reused.hasPrefix("reused the dump taken before the window"), "\(reused)")
                #expect(reused.hasSuffix("globals from before the window too"), "\(reused)")
                // Restore, analyze and the full fingerprint happened before the window, into a staged cluster that
                // the window moved into place and proved to be the one verified.
                let staged = try Self.summary(d, run: secondRun, step: "stage-new-cluster")
                #expect(staged.contains("restored into pgdb.staged-\(secondRun) and verified"), "\(staged)")
                #expect(try Self.summary(d, run: secondRun, step: "stage-subscriber") == "not needed: the cluster restored from the snapshot is ready")
                #expect(try Self.summary(d, run: secondRun, step: "move-data-aside").contains("pgdb.staged-\(secondRun) -> pgdb"))
                #expect(try Self.summary(d, run: secondRun, step: "start-new-db").hasPrefix("PostgreSQL 18 ready on the cluster restored before the window"))
                let verified = try Self.summary(d, run: secondRun, step: "verify")
                #expect(verified.hasPrefix("identical: verified before the window"), "\(verified)")
                try await Self.expectNotRecreated(d, run: secondRun, service: Self.db)
                #expect(!FaultCampaign.dataEntries(d).contains { $0.contains(".staged-") }, "\(FaultCampaign.dataEntries(d))")
                let leftovers = try await E2EEnvironment.docker(["ps", "-aq", "--filter", "label=com.upshift.run=\(secondRun)"])
                #expect(leftovers.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(leftovers.stdout)")
                // The online step ran while the application served: it finished before stop-app began.
                let order = try Self.events(d, run: secondRun).compactMap { event, details -> String? in
                    event == "step.started" || event == "step.succeeded" ? "\(event) \(details["step"] as? String ?? "")" : nil
                }
                let onlineDone = try #require(order.firstIndex(of: "step.succeeded prepare-online"))
                let stopStarted = try #require(order.firstIndex(of: "step.started stop-app"))
                #expect(onlineDone < stopStarted)
                // The window ran the prepared branch only: no restore, no analyze, no scan; plan.json says so.
                #expect(!order.contains { $0.hasSuffix(" restore") || $0.hasSuffix(" analyze") || $0.hasSuffix(" fingerprint-old") }, "\(order)")
                let followed = try RunFolder(projectDirectory: d.path, runID: try #require(RunID(secondRun))).readPlan().steps.map(\.id)
                let afterDecision = followed.drop { $0 != "check-snapshot" }.dropFirst().filter { $0 != "update-extensions" }
                #expect(Array(afterDecision) == ["dump", "stop-db", "move-data-aside", "switch-image", "start-new-db", "verify", "start-stack"], "\(followed)")
                #expect(try await E2EUpgrade.tableCounts(d, service: Self.db, database: database) == counts)
                #expect(try await E2EUpgrade.psql(d, service: Self.db, database: database, "SELECT count(*) FROM upshift_online_marker") == "1")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18)

                // Rollback of the staged upgrade: the old cluster back and verified, the staged one kept aside.
                let back = try await d.upshift(["rollback", "--yes"])
                #expect(back.exitCode == 0, "\(back.stderr.suffix(1500))")
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 15)
                #expect(try await E2EUpgrade.tableCounts(d, service: Self.db, database: database) == counts)

                // 3. Fault row: killed once the prepared cluster runs from the user's files, before that is journaled;
                // the rollback must stop it and bring back the old cluster as it was.
                let outputs = FaultOutputs()
                try await FaultKillEndToEndTests.scenario(d, "kill -9", at: "after:start-new-db (prepared branch: the new server runs from your files, not yet journaled)", outputs: outputs) { d, verdict, _ in
                    let (runID, _) = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, faultPoint: "after:start-new-db") { _, process in
                        try await process.waitForFaultPoint("after:start-new-db", timeout: .seconds(300))
                    }
                    verdict.check(try Self.decision(d, run: runID) == "prepared", "the window did not take the prepared branch")
                    // Started from the user's files: on the project's network, not the window's private one.
                    let container = try await d.containerID(Self.db)
                    let networks = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", container]).stdout
                    verdict.check(networks.split(separator: " ").map(String.init).contains("\(d.projectName)_default"), "the new server is not on the project's network: \(networks)")
                    verdict.check(try await E2EUpgrade.serverMajor(d, service: Self.db) == 18, "PostgreSQL 18 does not run at the fault point")
                    return "killed stopped at after:start-new-db;"
                }
                #expect(try await E2EUpgrade.serverMajor(d, service: Self.db) == 15)
                #expect(try await E2EUpgrade.tableCounts(d, service: Self.db, database: database) == counts)
            }
        }
    }

    static let whenPrepared = "nothing committed since the snapshot, and the cluster prepared before the window is ready"

    /// The branch `check-snapshot` chose in a run, from the audit log.
    static func decision(_ d: E2EDeployment, run: String, step: String = "check-snapshot") throws -> String? {
        try events(d, run: run).first { $0.0 == "plan.decided" && $0.1["step"] as? String == step }?.1["branch"] as? String
    }

    /// Every audit record of one run, whole.
    static func records(_ d: E2EDeployment, run: String) throws -> [[String: Any]] {
        try d.read(".upshift/audit.jsonl").split(whereSeparator: \.isNewline).compactMap { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["run"] as? String == run else { return nil }
            return object
        }
    }

    /// Every audit record of one run: (event, details).
    static func events(_ d: E2EDeployment, run: String) throws -> [(String, [String: Any])] {
        try records(d, run: run).map { ($0["event"] as? String ?? "", $0["details"] as? [String: Any] ?? [:]) }
    }

    /// A cluster verified before it starts starts from the user's files (`StartNewDatabaseStep.finalForm`):
    /// the `service` container running now must have started before start-stack did, which therefore did
    /// not recreate it (a restart of seconds, all of it downtime).
    static func expectNotRecreated(_ d: E2EDeployment, run: String, service: String) async throws {
        let container = try await d.containerID(service)
        let startedAt = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{.State.StartedAt}}", container]).stdout
        let stackStarted = try stepStarted(d, run: run, step: "start-stack")
        #expect(String(startedAt.prefix(23)) < stackStarted, "\(service) started \(startedAt), start-stack at \(stackStarted)")
    }

    /// When `step` of `run` started: the audit's time stamp, to the millisecond (`2026-12-07T12:52:24.412`),
    /// comparable as text with docker's.
    static func stepStarted(_ d: E2EDeployment, run: String, step: String) throws -> String {
        let record = try records(d, run: run).first {
            $0["event"] as? String == "step.started" && ($0["details"] as? [String: Any])?["step"] as? String == step
        }
        return try String(#require(record?["ts"] as? String, "no step.started for \(step) in run \(run)").prefix(23))
    }

    /// The summary a step of `run` finished with.
    static func summary(_ d: E2EDeployment, run: String, step: String) throws -> String {
        let match = try events(d, run: run).last { $0.0 == "step.succeeded" && $0.1["step"] as? String == step }
        return try #require(match?.1["summary"] as? String, "no step.succeeded for \(step) in run \(run)")
    }
}
