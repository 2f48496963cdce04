import Foundation
import Testing
import UpshiftPostgres
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15: every data layout people run, upgraded 15 -> 18 by both methods and rolled back, with a kill -9
/// after the old cluster was moved aside. One deployment per layout carries all of it (each step starts from
/// the rolled-back state of the one before, which also proves a rolled-back deployment upgrades again). The
/// data is checked by the test's own libpq fingerprint and psql counts, the files byte for byte.
@Suite(.serialized)
struct LayoutsEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"), arguments: E2EEnvironment.full ? E2ELayout.all : E2ELayout.inCI)
    func upgradeKillAndRollBack(_ layout: E2ELayout) async throws {
        try await E2EUpgrade.timed("layout \(layout.name): dump, kill -9 after the move, pg_upgrade --mode \(layout.upgradeMode)") {
            try await layout.with { d in
                let composeBefore = try Data(contentsOf: d.url("docker-compose.yml"))
                let envBefore = try Data(contentsOf: d.url(".env"))
                let countsBefore = try await E2EUpgrade.tableCounts(d, service: "db")
                let reportsBefore = try await E2EUpgrade.tableCounts(d, service: "db", database: "reports")
                let before = try await E2ELayout.fingerprint(d)
                let hashesBefore = try await Self.hashes(d)
                #expect(before.serverMajor == 15 && E2EUpgrade.totalRows(before) >= 4500)
                var outputs: [(String, String)] = []

                for method in [["--method", "dump"], ["--method", "pg_upgrade", "--mode", layout.upgradeMode]] {
                    let label = method.joined(separator: " ")
                    let upgrade = try await E2EUpgrade.timed("  pg-upgrade \(label) (\(layout.name))") {
                        try await d.upshift(["pg-upgrade", "--to", "18", "--yes"] + method)
                    }
                    outputs.append(("pg-upgrade \(label)", upgrade.stdout + upgrade.stderr))
                    try #require(upgrade.exitCode == 0, "\(layout.name), \(label): \(upgrade)")
                    let runID = try #require(E2EUpgrade.runIDs(d).last)

                    // On 18, the same data; the compose diff is the image line plus the layout's PGDATA line.
                    #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
                    let after = try await E2ELayout.fingerprint(d)
                    #expect(E2EUpgrade.dataDiff(before, after).isEmpty, "\(layout.name) \(label): \(E2EUpgrade.dataDiff(before, after))")
                    #expect(E2EUpgrade.tableContent(before) == E2EUpgrade.tableContent(after))
                    #expect(try await E2EUpgrade.tableCounts(d, service: "db") == countsBefore)
                    #expect(try await E2EUpgrade.tableCounts(d, service: "db", database: "reports") == reportsBefore)
                    let diff = E2EUpgrade.diffBodies(E2EUpgrade.lineDiff(String(decoding: composeBefore, as: UTF8.self), try d.read("docker-compose.yml")))
                    #expect(Set(diff) == Set(["-    image: postgres:15", "+    image: postgres:18"] + layout.pgdataDiff), "\(layout.name): \(diff)")
                    #expect(try Data(contentsOf: d.url(".env")) == envBefore)
                    if let host = layout.hostDirectory {
                        #expect(Self.pgVersion(d.path + "/\(host)/postgres") == "18")
                        #expect(Self.pgVersion(d.path + "/\(host)/postgres.pg15-\(runID)") == "15")
                    }
                    // No message or plan line names an empty path.
                    #expect(!upgrade.stderr.contains("move  aside") && !upgrade.stderr.contains(" aside as .failed"), "\(upgrade.stderr.suffix(3000))")
                    try await E2EUpgrade.waitRunning(d, ["app", "db"])

                    let rollback = try await d.upshift(["rollback", "--yes"])
                    outputs.append(("rollback \(label)", rollback.stdout + rollback.stderr))
                    try #require(rollback.exitCode == 0, "\(layout.name), rollback after \(label): \(rollback)")
                    try await Self.expectBack(d, layout, LayoutBaseline(compose: composeBefore, env: envBefore, fingerprint: before, counts: countsBefore, hashes: hashesBefore), "rollback after \(label)")

                    if method[1] == "dump" {
                        let baseline = LayoutBaseline(compose: composeBefore, env: envBefore, fingerprint: before, counts: countsBefore, hashes: hashesBefore)
                        for point in LayoutKillPoint.all(layout) {
                            try await Self.kill(d, layout, at: point, baseline, outputs: &outputs)
                        }
                    }
                }
                for (label, text) in outputs {
                    #expect(!text.contains(E2ELayout.password), "the password appears in the output of \(label)")
                }
                // Only the byte copies of the user's own files (the run's compose/ snapshot, 0600) may hold it.
                let leaks = E2EUpgrade.filesContaining(E2ELayout.password, under: d.path + "/.upshift").filter { !$0.contains("/compose/") }
                #expect(leaks.isEmpty, "the password is in \(leaks)")
            }
        }
    }

    /// kill -9 at `point`, then `rollback`: one row of the fault campaign per layout and point.
    static func kill(_ d: E2EDeployment, _ layout: E2ELayout, at point: LayoutKillPoint, _ baseline: LayoutBaseline, outputs: inout [(String, String)]) async throws {
        let verdict = FaultVerdict(scenario: "kill -9 (\(layout.name))", injectedAt: point.label)
        defer { verdict.record() }
        let watcher = FaultAuditWatcher(projectDirectory: d.path)
        let process = try FaultProcess(["pg-upgrade", "--to", "18", "--yes", "--no-online-prepare"], workingDirectory: d.path,
                                       environment: point.faultPoint.map { [FaultPoint.variable: $0] } ?? [:])
        var note = ""
        do {
            if let faultPoint = point.faultPoint {
                try await process.waitForFaultPoint(faultPoint)
                note = try point.whileStopped?(d, layout) ?? ""
            } else {
                _ = try await watcher.waitForStepStart(point.step, timeout: .seconds(300))
            }
        } catch {
            process.send(SIGKILL)
            _ = try? await process.wait(timeout: .seconds(30))
            verdict.fail("the run never reached \(point.label): \(error)")
            throw error
        }
        process.send(SIGKILL)
        let killed = try await process.wait(timeout: .seconds(30))
        outputs.append(("killed pg-upgrade", killed.stdout + killed.stderr))
        verdict.check(killed.signaled && killed.status == SIGKILL, "upshift did not die of SIGKILL: \(killed)")
        let rollback = try await d.upshift(["rollback", "--yes"])
        outputs.append(("rollback after the kill", rollback.stdout + rollback.stderr))
        verdict.check(rollback.exitCode == 0, "rollback after the kill: \(rollback)")
        verdict.outcome = "killed (signal 9)\(note); rollback exit \(rollback.exitCode)"
        do {
            try await expectBack(d, layout, baseline, "rollback after kill -9 at \(point.label)", verdict: verdict)
            verdict.fingerprintEqual = verdict.problems.isEmpty
        } catch {
            verdict.fail("checking the rolled-back deployment: \(error)")
        }
    }

    /// The deployment is as it was: files byte for byte, PostgreSQL 15 with the same data (the test's libpq
    /// fingerprint, psql counts and psql row hashes of both databases), both services up.
    static func expectBack(_ d: E2EDeployment, _ layout: E2ELayout, _ baseline: LayoutBaseline, _ what: String, verdict: FaultVerdict? = nil) async throws {
        func check(_ condition: Bool, _ problem: String) {
            if let verdict { verdict.check(condition, problem) } else { #expect(condition, "\(layout.name), \(what): \(problem)") }
        }
        check(try Data(contentsOf: d.url("docker-compose.yml")) == baseline.compose, "docker-compose.yml is not byte-identical")
        check(try Data(contentsOf: d.url(".env")) == baseline.env, ".env is not byte-identical")
        try await E2EUpgrade.waitRunning(d, ["app", "db"])
        check(try await E2EUpgrade.serverMajor(d, service: "db") == 15, "the server is not PostgreSQL 15")
        let now = try await E2ELayout.fingerprint(d)
        check(E2EUpgrade.dataDiff(baseline.fingerprint, now).isEmpty && E2EUpgrade.tableContent(baseline.fingerprint) == E2EUpgrade.tableContent(now),
              "data differs: \(E2EUpgrade.dataDiff(baseline.fingerprint, now).prefix(5))")
        check(try await E2EUpgrade.tableCounts(d, service: "db") == baseline.counts, "row counts differ")
        check(try await hashes(d) == baseline.hashes, "rows differ (psql row hashes)")
        if let host = layout.hostDirectory {
            check(pgVersion(d.path + "/\(host)/postgres") == "15", "PG_VERSION at ./postgres is not 15")
        }
    }

    /// psql row hashes of both databases.
    static func hashes(_ d: E2EDeployment) async throws -> String {
        try await E2EUpgrade.tableHashes(d, service: "db") + "\n" + E2EUpgrade.tableHashes(d, service: "db", database: "reports")
    }

    static func pgVersion(_ directory: String) -> String? {
        (try? String(contentsOfFile: directory + "/PG_VERSION", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// What a layout must be again after a rollback.
struct LayoutBaseline {
    var compose: Data
    var env: Data
    var fingerprint: Fingerprint
    var counts: String
    var hashes: String
}

/// Where the layouts suite kills a run: when a step starts (seen in the audit log), or at a fault point
/// (upshift stopped there by itself), optionally changing the disk first to reach a state between two of
/// the step's own actions.
struct LayoutKillPoint: Sendable {
    var label: String
    var step: String = ""
    var faultPoint: String? = nil
    var whileStopped: (@Sendable (E2EDeployment, E2ELayout) throws -> String)? = nil

    /// Every layout gets the kill after the move and the kill between the two switch-image writes; the kill
    /// inside the move runs in CI for the bind mount at PGDATA (the one whose move is two actions: rename,
    /// then create) and for every layout under `scripts/test --full`.
    static func all(_ layout: E2ELayout) -> [LayoutKillPoint] {
        var points = [
            LayoutKillPoint(label: "switch-image (after the move)", step: "switch-image"),
            LayoutKillPoint(label: "inside switch-image (between the image and PGDATA writes)", faultPoint: "switch-image:between-writes"),
        ]
        if layout.hostDirectory != nil {
            // The move renames ./postgres aside and creates an empty ./postgres in one helper: the crash between
            // the two leaves no ./postgres at all. Reproduced by removing the fresh directory while stopped.
            points.append(LayoutKillPoint(label: "inside move-data-aside (renamed, new directory not created)", faultPoint: "after:move-data-aside") { d, layout in
                let fresh = d.path + "/\(layout.hostDirectory ?? ".")/postgres"
                let entries = try FileManager.default.contentsOfDirectory(atPath: fresh)
                guard entries.isEmpty else { throw E2EFailure("the new ./postgres is not empty: \(entries)") }
                try FileManager.default.removeItem(atPath: fresh)
                return " between rename and create"
            })
        } else if E2EEnvironment.full {
            points.append(LayoutKillPoint(label: "inside move-data-aside (moved, not journaled)", faultPoint: "after:move-data-aside"))
        }
        return points
    }
}
