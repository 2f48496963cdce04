import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The fault campaign on a database of over 200 MB, each kill proven to land inside the operation: the child
/// that does the work (pg_dump, psql, pg_basebackup) is running, and its bytes are moving — the dump on disk, or
/// the target database, measured twice from outside and found growing — at the moment of SIGKILL. The row
/// says what was measured. Each kill is followed by `rollback` and the full outside comparison.
/// About four minutes: part of `scripts/test --full`, not of CI's run (CI's own kill rows cover the same steps
/// on the small database).
@Suite(.serialized)
struct FaultBigDataEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd && E2EEnvironment.full
    static let megabytes = 200

    @Test(.enabled(if: enabled, "needs scripts/test --full and \(E2EEnvironment.skipReason)"))
    func killsInsideOperationsOnABigDatabase() async throws {
        try await E2EUpgrade.timed("fault campaign: kills inside dump, restore, staging on \(Self.megabytes) MB") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "fault-big") { d in
                try await E2EUpgrade.timed("  seed \(Self.megabytes) MB") { try await FaultCampaign.prepare(d, megabytes: Self.megabytes) }
                let size = Int64(try await E2EUpgrade.psql(d, service: FaultCampaign.dbService, "SELECT pg_database_size(current_database())")) ?? 0
                try #require(size >= Int64(Self.megabytes) << 20, "the seeded database has \(size) bytes, less than \(Self.megabytes) MB")
                let outputs = FaultOutputs()
                let dumps = d.path + "/backups"

                // The dump inside the window, and the dump before it (prepare-online): pg_dump runs, the dump grows.
                for (point, arguments) in [("dump (window, mid pg_dump)", ["--no-online-prepare", "--backup-dir", dumps]), ("prepare-online (mid online pg_dump)", ["--backup-dir", dumps])] {
                    try await FaultKillEndToEndTests.scenario(d, "kill -9 (\(Self.megabytes) MB)", at: point, outputs: outputs) { d, verdict, _ in
                        var proof = ""
                        _ = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: arguments) { _, process in
                            proof = try await Self.waitInside(process, child: "pg_dump", what: "dump bytes") { Self.treeBytes(dumps) }
                        }
                        return "killed with \(proof)"
                    }
                }

                // The restore into PostgreSQL 18 inside the window: psql runs, the new database grows.
                try await FaultKillEndToEndTests.scenario(d, "kill -9 (\(Self.megabytes) MB)", at: "restore (window, mid psql restore)", outputs: outputs) { d, verdict, _ in
                    var proof = ""
                    _ = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--no-online-prepare", "--jobs", "1"]) { watcher, process in
                        try await watcher.waitForStepStart("restore", timeout: .seconds(900))
                        proof = try await Self.waitInside(process, child: "psql", what: "bytes in the new database") {
                            Int64((try? await E2EUpgrade.psql(d, service: FaultCampaign.dbService, "SELECT coalesce(sum(pg_database_size(datname)), 0) FROM pg_database")) ?? "")
                        }
                    }
                    return "killed with \(proof)"
                }

                // The restore into the staged cluster before the window: the staged database grows.
                try await FaultKillEndToEndTests.scenario(d, "kill -9 (\(Self.megabytes) MB)", at: "stage-new-cluster (mid restore into the staged cluster)", outputs: outputs, rollbackAfter: true) { d, verdict, _ in
                    var proof = ""
                    _ = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--jobs", "1"]) { watcher, process in
                        let progress = try await watcher.waitForProgress("stage-new-cluster", prefix: "restoring ", timeout: .seconds(900))
                        let staged = "upshift-staged-\(progress.run)"
                        proof = try await Self.waitInside(process, child: "psql", what: "bytes in the staged cluster") {
                            let out = try? await E2EEnvironment.docker(["exec", staged, "sh", "-c", #"psql -X -At -U "$POSTGRES_USER" -d postgres -c 'SELECT sum(pg_database_size(datname)) FROM pg_database'"#])
                            return out.flatMap { Int64($0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
                        }
                    }
                    return "killed with \(proof)"
                }

                // pg_upgrade --mode copy stages a pg_basebackup of the serving cluster: it runs, the copy grows.
                try await FaultKillEndToEndTests.scenario(d, "kill -9 (\(Self.megabytes) MB)", at: "stage-copy (pg_upgrade, mid pg_basebackup)", outputs: outputs) { d, verdict, _ in
                    var proof = ""
                    _ = try await FaultKillEndToEndTests.killRun(d, verdict, outputs: outputs, extraArguments: ["--method", "pg_upgrade", "--mode", "copy"]) { watcher, process in
                        let progress = try await watcher.waitForProgress("stage-copy", prefix: "pg_basebackup of the serving cluster", timeout: .seconds(900))
                        let copy = FaultCampaign.dataDirectory(d) + "/pgdb.copy-\(progress.run)"
                        proof = try await Self.waitInside(process, child: "pg_basebackup", what: "bytes in the copy") { Self.treeBytes(copy) }
                    }
                    return "killed with \(proof)"
                }

                print(try FaultCampaign.expectNoSecrets(d, outputs: outputs.all, backupDirectories: [dumps], verdict: FaultVerdict(scenario: "secrets", injectedAt: "all artefacts")))
            }
        }
    }

    /// Waits until upshift has a descendant whose command line names `child`, and `measure` (bytes) grew between
    /// two samples while that child ran, with at least 1 MB moved already. Returns the proof for the row.
    static func waitInside(_ process: FaultProcess, child: String, what: String, measure: @escaping () async throws -> Int64?) async throws -> String {
        try await E2EPoll.value("\(child) running and \(what) growing", timeout: .seconds(900), interval: .milliseconds(50)) {
            guard process.isRunning else { throw E2EFailure("upshift exited before \(child) ran:\n\(process.stderrSoFar.suffix(1500))") }
            guard let pid = process.descendants().first(where: { commandLine($0).contains(child) }) else { return nil }
            guard let first = try await measure(), first >= 1 << 20 else { return nil }
            try await Task.sleep(for: .milliseconds(200))
            guard let second = try await measure(), second > first, FaultOrphans.isAlive(pid) else { return nil }
            return "\(child) running (pid \(pid)), \(what) \(ByteFormat.string(first)) -> \(ByteFormat.string(second))"
        }
    }

    /// The argv of a process, joined by spaces (from /proc).
    static func commandLine(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
    }

    /// Bytes of the regular files below `path` (0 when it does not exist).
    static func treeBytes(_ path: String) -> Int64 {
        var total: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        while let relative = walker.nextObject() as? String {
            var info = stat()
            if lstat(path + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int64(info.st_size) }
        }
        return total
    }
}
