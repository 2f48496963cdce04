import Foundation
import Testing
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport

/// Failures injected from outside at each stage of `upshift pg-upgrade`, on the built binary and the test engine.
/// Every one must end in an automatic rollback: exit code 1, "old fingerprint verified", the old major running with
/// the same rows and checksums (measured by the test itself), the compose files byte-identical, and the same
/// services running as before. Two failures share one deployment (each run starts from a rolled-back state, which
/// also proves a rolled-back deployment can be upgraded again).
@Suite(.serialized)
struct PgUpgradeFailureEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    // MARK: - (a) restore error, (b) verification mismatch

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func restoreErrorThenVerificationMismatch() async throws {
        try await E2EUpgrade.timed("failures: restore error + verification mismatch") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "pgfail-data") { d in
                let password = try #require(try E2EUpgrade.envValue(d, "DB_PASSWORD"))
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 1)

                // (a) A role setting PostgreSQL 16 removed (force_parallel_mode, renamed debug_parallel_query): the dumped
                // globals stop the restore on 18 (ON_ERROR_STOP). (vacuum_defer_cleanup_age, also removed, is a
                // sighup setting that ALTER ROLE cannot set.)
                _ = try await E2EUpgrade.psql(d, service: "db", "ALTER ROLE app SET force_parallel_mode = off")
                let baselineA = try await Baseline.take(d, password: password)
                let restoreFailure = try await E2EUpgrade.timed("  (a) restore error") {
                    try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                }
                try await Self.expectRolledBack(
                    restoreFailure, d, baselineA, password: password, failedStep: "restore",
                    message: "restoring globals failed", detail: "force_parallel_mode")
                _ = try await E2EUpgrade.psql(d, service: "db", "ALTER ROLE app RESET force_parallel_mode")

                // (b) A STORED generated column over a function falsely declared IMMUTABLE that reads another
                // table: the restore recomputes the column from the other table's current rows, so the restored
                // values differ from the stored ones and only the fingerprint comparison can notice. (The names
                // make pg_dump create and load the rate table first, so the restore itself succeeds.)
                _ = try await E2EUpgrade.psql(d, service: "db", """
                    CREATE TABLE e2e_a_rate (id int PRIMARY KEY, rate int NOT NULL);
                    INSERT INTO e2e_a_rate VALUES (1, 100);
                    CREATE FUNCTION e2e_a_rate_of(k int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT rate FROM public.e2e_a_rate WHERE id = k';
                    CREATE TABLE e2e_b_priced (id int PRIMARY KEY, k int NOT NULL, price int GENERATED ALWAYS AS (public.e2e_a_rate_of(k)) STORED);
                    INSERT INTO e2e_b_priced (id, k) SELECT g, 1 FROM generate_series(1, 50) g;
                    UPDATE e2e_a_rate SET rate = 200;
                    """)
                #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT DISTINCT price FROM e2e_b_priced") == "100")
                let baselineB = try await Baseline.take(d, password: password)
                let mismatch = try await E2EUpgrade.timed("  (b) verification mismatch") {
                    try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                }
                try await Self.expectRolledBack(
                    mismatch, d, baselineB, password: password, failedStep: "verify",
                    message: "verification failed", detail: "e2e_b_priced")
                #expect(try await E2EUpgrade.psql(d, service: "db", "SELECT DISTINCT price FROM e2e_b_priced") == "100")
            }
        }
    }

    // MARK: - (d) a target image that cannot start, (c) an application that does not come back

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func brokenImageThenApplicationNotBack() async throws {
        try await E2EUpgrade.timed("failures: broken image + app not back") {
            try await BrokenImage.with(major: 17) {
                try await E2EDeployment.with(sample: "generic", namePrefix: "pgfail-stack") { d in
                    let password = try #require(try E2EUpgrade.envValue(d, "DB_PASSWORD"))
                    // An application that only works with PostgreSQL 15: it exits when the server is any other major.
                    let compose = try d.read("docker-compose.yml")
                    var lines = compose.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    let index = try #require(lines.firstIndex { $0.hasPrefix("    command: ") })
                    lines[index] = Self.appOnlyFor15
                    try d.write("docker-compose.yml", lines.joined(separator: "\n"))
                    try await d.up()
                    try await E2EUpgrade.seed(d, megabytes: 1)

                    // (d) postgres:17 exists (pullable) but its entrypoint exits 1. The dump runs the target image's
                    // own pg_dump, so an image that cannot run fails there: by default in the online dump, before
                    // the application was ever stopped; with --no-online-prepare inside the window, before any
                    // data has moved, and rolled back.
                    // A target image that runs another major than asked for is refused before any change.
                    let baselineWrong = try await Baseline.take(d, password: password)
                    let wrongMajor = try await d.upshift(["pg-upgrade", "--to", "16", "--image", "postgres:17", "--yes"])
                    #expect(wrongMajor.exitCode == 64, "\(wrongMajor)")
                    #expect(wrongMajor.stderr.contains("the target image postgres:17 runs PostgreSQL 17"), "\(wrongMajor.stderr.suffix(1500))")
                    #expect(E2EUpgrade.runIDs(d) == baselineWrong.runs)
                    #expect(E2EUpgrade.treeChanges(baselineWrong.files, E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups"])).isEmpty)

                    let baselineOnline = try await Baseline.take(d, password: password)
                    let brokenOnline = try await E2EUpgrade.timed("  (d) target image cannot start (online dump)") {
                        try await d.upshift(["pg-upgrade", "--to", "17", "--yes"])
                    }
                    try await Self.expectFailedBeforeWindow(brokenOnline, d, baselineOnline, password: password, detail: "pg_dump: not found")
                    let baselineD = try await Baseline.take(d, password: password)
                    let broken = try await E2EUpgrade.timed("  (d) target image cannot start (in the window)") {
                        try await d.upshift(["pg-upgrade", "--to", "17", "--yes", "--no-online-prepare"])
                    }
                    try await Self.expectRolledBack(broken, d, baselineD, password: password, failedStep: "dump", message: "", detail: nil)

                    // (c) 15 -> 18 works up to the last step, then the application exits on 18. It restarts for
                    // ever (`restart: unless-stopped`): the run gives up after --ready-timeout (default 60 s of
                    // watching; 20 here, as a user in a hurry would set it).
                    let baselineC = try await Baseline.take(d, password: password)
                    let appGone = try await E2EUpgrade.timed("  (c) application does not come back") {
                        try await d.upshift(["pg-upgrade", "--to", "18", "--yes", "--ready-timeout", "20"])
                    }
                    try await Self.expectRolledBack(
                        appGone, d, baselineC, password: password, failedStep: "start-stack",
                        message: "after the upgrade these services are not running: app", detail: nil)
                    let logs = try await d.composeChecked(["logs", "--no-color", "app"])
                    #expect(logs.stdout.contains("app: PostgreSQL 18"), "the app did not see PostgreSQL 18: \(logs.stdout.suffix(1500))")
                }
            }
        }
    }

    /// The generic app's command, replaced: waits for the database, exits 3 unless the server is PostgreSQL 15.
    static let appOnlyFor15 = #"    command: ["sh", "-c", "until v=$$(PGPASSWORD=\"$$APP_DB_PASSWORD\" psql -X -At -h db -U \"$$APP_DB_USER\" -d \"$$APP_DB_NAME\" -c 'SHOW server_version_num' 2>/dev/null); do sleep 1; done; case $$v in 15*) ;; *) echo \"app: PostgreSQL $${v%????} ($$v) is not supported\" >&2; exit 3;; esac; trap 'exit 0' TERM INT; while :; do sleep 2 & wait $$!; done"]"#

    // MARK: - Checks

    /// What must be true again after an automatic rollback, measured before the run.
    struct Baseline {
        var files: [String: String]
        var counts: String
        var fingerprint: Fingerprint
        var running: Set<String>
        var runs: [String]

        static func take(_ d: E2EDeployment, password: String) async throws -> Baseline {
            Baseline(
                files: E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups"]),
                counts: try await E2EUpgrade.tableCounts(d, service: "db"),
                fingerprint: try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password),
                running: try await E2EUpgrade.runningServices(d),
                runs: E2EUpgrade.runIDs(d))
        }
    }

    /// Exit 1 at the online step: the application never stopped, nothing changed, nothing needs a rollback,
    /// and the next run is not blocked.
    static func expectFailedBeforeWindow(_ result: E2EOutput, _ d: E2EDeployment, _ baseline: Baseline, password: String, detail: String) async throws {
        print("--- upshift stderr (failure before the window, tail)\n\(result.stderr.suffix(1500))")
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stderr.contains("pg-upgrade failed at step prepare-online: "), "\(result.stderr.suffix(2000))")
        #expect(result.stderr.contains(detail), "expected \(detail) in the error")
        let runID = try #require(E2EUpgrade.runIDs(d).last)
        #expect(try E2EUpgrade.journalSteps(d, runID, type: "failed") == ["prepare-online"])
        #expect(!(try E2EUpgrade.journal(d, runID).contains { $0["type"] as? String == "intent" && $0["step"] as? String == "stop-app" }))
        let state = try RunFolder(projectDirectory: d.path, runID: try #require(RunID(runID))).loadState()
        #expect(!state.needsRollback)
        #expect(E2EUpgrade.treeChanges(baseline.files, E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups"])).isEmpty)
        #expect(try await E2EUpgrade.runningServices(d) == baseline.running)
        let now = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
        #expect(baseline.fingerprint.diff(against: now).isEmpty, "\(baseline.fingerprint.diff(against: now))")
        let backups = (try? FileManager.default.contentsOfDirectory(atPath: d.path + "/backups")) ?? []
        #expect(!backups.contains { $0.hasSuffix(runID) }, "the failed online dump was left behind: \(backups)")
        try PgUpgradeEndToEndTests.expectNoSecret(password, in: d, outputs: [("pg-upgrade (online failure)", result)])
    }

    /// Exit 1 naming the failed step, the rollback verified the old fingerprint, and from outside: same files,
    /// same services running, PostgreSQL 15 with the same rows and checksums; the journal agrees; no password leaked.
    static func expectRolledBack(
        _ result: E2EOutput, _ d: E2EDeployment, _ baseline: Baseline, password: String,
        failedStep: String, message: String, detail: String?
    ) async throws {
        print("--- upshift stderr (\(failedStep) failure, tail)\n\(result.stderr.suffix(2500))")
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stderr.contains("pg-upgrade failed at step \(failedStep): \(message)"), "\(result.stderr.suffix(3000))")
        if let detail { #expect(result.stderr.contains(detail), "expected \(detail) in the error") }
        #expect(result.stderr.contains("old fingerprint verified"), "\(result.stderr.suffix(3000))")
        #expect(result.stderr.contains("rollback complete: the old cluster, the original compose files and the services are back"))

        let runs = E2EUpgrade.runIDs(d)
        #expect(runs.count == baseline.runs.count + 1)
        let runID = try #require(runs.last)
        #expect(try E2EUpgrade.journalSteps(d, runID, type: "failed") == [failedStep])
        #expect(try E2EUpgrade.journal(d, runID).contains { $0["type"] as? String == "rollback-finished" })
        let runBefore = try E2EUpgrade.runFingerprint(d, runID, "before")
        let runRollback = try E2EUpgrade.runFingerprint(d, runID, "rollback")
        #expect(runBefore.diff(against: runRollback).isEmpty)

        let changes = E2EUpgrade.treeChanges(baseline.files, E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups"]))
        #expect(changes.isEmpty, "files changed by a rolled-back run: \(changes)")
        try await E2EUpgrade.waitRunning(d, baseline.running)
        #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        #expect(try await E2EUpgrade.tableCounts(d, service: "db") == baseline.counts)
        let now = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
        #expect(baseline.fingerprint.diff(against: now).isEmpty, "\(baseline.fingerprint.diff(against: now))")
        #expect(E2EUpgrade.tableContent(baseline.fingerprint) == E2EUpgrade.tableContent(now))

        try PgUpgradeEndToEndTests.expectNoSecret(password, in: d, outputs: [("pg-upgrade (\(failedStep) failure)", result)])
    }
}

/// A `postgres:<major>` image that exists in the local registry (so preflight's pull succeeds), whose
/// `postgres --version` names the major (so preflight's check of the target passes) but whose entrypoint
/// exits 1 and which has no other PostgreSQL program: busybox only, built with `docker import`, unique content so deleting its manifest by digest cannot
/// remove any other tag. Removed again (local tags and registry manifest) on every exit path.
enum BrokenImage {
    static func with(major: Int, _ body: () async throws -> Void) async throws {
        let remote = "\(E2EEnvironment.registry)/library/postgres:\(major)"
        var digest: String?
        do {
            try await build(remote, major: major)
            // Remember exactly what was pushed: only this manifest is deleted afterwards, even if another test
            // process pushed its own postgres:<major> meanwhile.
            digest = await manifestDigest(major: major)
            try await body()
        } catch {
            await remove(remote, major: major, digest: digest)
            throw error
        }
        await remove(remote, major: major, digest: digest)
    }

    static func manifestDigest(major: Int) async -> String? {
        let url = "http://\(E2EEnvironment.registry)/v2/library/postgres/manifests/\(major)"
        let accept = [
            "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json",
        ].flatMap { ["-H", "Accept: \($0)"] }
        guard let head = try? await E2EEnvironment.runner.run(Command("curl", ["-fsSI"] + accept + [url], timeout: .seconds(30))) else { return nil }
        return head.stdoutText.split(whereSeparator: \.isNewline)
            .first(where: { $0.lowercased().hasPrefix("docker-content-digest:") })?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func build(_ remote: String, major: Int) async throws {
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent(E2EEnvironment.uniqueName("upshift-broken-image"))
        defer { try? FileManager.default.removeItem(at: staging) }
        let root = staging.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root.appendingPathComponent("bin/busybox").path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("bin/sh").path, withDestinationPath: "busybox")
        // It claims the major (preflight reads `postgres --version`) and has nothing else: no pg_dump, no server.
        let postgres = root.appendingPathComponent("bin/postgres")
        try "#!/bin/sh\necho 'postgres (PostgreSQL) \(major).0'\n".write(to: postgres, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: postgres.path)
        try UUID().uuidString.write(to: root.appendingPathComponent("upshift-e2e-broken"), atomically: true, encoding: .utf8)
        let tar = staging.appendingPathComponent("rootfs.tar").path
        try E2EOutput(try await E2EEnvironment.runner.run(Command("tar", ["-C", root.path, "-cf", tar, "."], timeout: .seconds(60)))).checked("tar")
        try await E2EEnvironment.dockerChecked([
            "import", "--change", #"ENTRYPOINT ["/bin/sh", "-c", "echo 'upshift-e2e: this image cannot start' >&2; exit 1"]"#, tar, remote,
        ])
        try await E2EEnvironment.dockerChecked(["push", remote], timeout: .seconds(120))
        _ = try await E2EEnvironment.docker(["rmi", remote])
    }

    static func remove(_ remote: String, major: Int, digest: String?) async {
        _ = try? await E2EEnvironment.docker(["rmi", "-f", remote, "postgres:\(major)"])
        // Delete the manifest from the registry (delete is enabled in compose/testenv/up's registry config).
        guard let digest else {
            print("BrokenImage: the digest of \(remote) is unknown; it stays in the registry")
            return
        }
        let delete = try? await E2EEnvironment.runner.run(Command(
            "curl", ["-fsS", "-X", "DELETE", "http://\(E2EEnvironment.registry)/v2/library/postgres/manifests/\(digest)"], timeout: .seconds(30)))
        if delete?.termination.isSuccess != true { print("BrokenImage: deleting \(digest) from the registry failed") }
    }
}
