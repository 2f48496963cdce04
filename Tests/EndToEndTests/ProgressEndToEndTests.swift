import Foundation
import Testing
import UpshiftTestSupport

/// `--progress` as a log or a program sees it (GitHub issue #21, item 3): a pg-upgrade of a database with
/// 300 tables, stderr captured (not a terminal), stays short in the default style, while the audit log
/// keeps every per-table line; with `--progress json` every stderr line is one JSON object.
@Suite(.serialized)
struct ProgressEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    /// 300 small tables in the sample's application database, so every fingerprint reports 300 checksums.
    static func createTables(_ d: E2EDeployment, count: Int = 300) async throws {
        _ = try await E2EUpgrade.psql(d, service: "db", """
            DO $$ BEGIN
              FOR i IN 1..\(count) LOOP
                EXECUTE format('CREATE TABLE progress_t%s (id int PRIMARY KEY, v text)', i);
                EXECUTE format('INSERT INTO progress_t%s SELECT g, md5(g::text) FROM generate_series(1, 10) g', i);
              END LOOP;
            END $$;
            """)
    }

    /// The run folders' ids, newest last.
    static func runIDs(_ d: E2EDeployment) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: d.path + "/.upshift/runs")) ?? []).sorted()
    }

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func plainProgressStaysShortWith300Tables() async throws {
        try await E2EUpgrade.timed("progress: plain, 300 tables") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "progress-plain") { d in
                try await d.up()
                try await Self.createTables(d)

                let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                print("--- upshift stderr (plain)\n\(upgrade.stderr)")
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                let lines = upgrade.stderr.split(whereSeparator: \.isNewline)
                #expect(lines.count <= 40, "\(lines.count) stderr lines")
                #expect(!upgrade.stderr.contains("\u{1B}") && !upgrade.stderr.contains("\r"), "escape or redraw in piped stderr")
                #expect(upgrade.stderr.contains("ok  verify"))
                #expect(upgrade.stderr.contains("PostgreSQL 15 -> 18 done for \(d.projectName)"))

                // The audit log has every per-table line the terminal was spared.
                let run = try #require(Self.runIDs(d).last)
                let log = try await d.upshift(["log", "--run", run])
                #expect(log.exitCode == 0, "\(log)")
                let checksums = log.stdout.split(whereSeparator: \.isNewline).filter { $0.contains("step.progress") && $0.contains("checksum") && $0.contains("progress_t") }
                #expect(checksums.count >= 600, "\(checksums.count) checksum lines in the audit log")   // before and after, 300 each
                #expect(log.stdout.contains("progress_t300"))
            }
        }
    }

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func jsonProgressIsOneObjectPerLine() async throws {
        try await E2EUpgrade.timed("progress: json") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "progress-json") { d in
                try await d.up()
                try await Self.createTables(d, count: 20)

                let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes", "--progress", "json"])
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                var events: [String] = []
                for line in upgrade.stderr.split(whereSeparator: \.isNewline) {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object != nil, "not a JSON object: \(line)")
                    guard let object else { continue }
                    let event = object["event"] as? String
                    #expect(event != nil, "no event: \(line)")
                    #expect(object["time"] is String, "no time: \(line)")
                    if let event { events.append(event) }
                }
                #expect(events.contains("step.started") && events.contains("step.succeeded") && events.contains("summary"), "\(events)")
                #expect(events.filter { $0 == "step.progress" }.count >= 40, "every progress line is an object too")
                #expect(events.last == "summary")
            }
        }
    }
}
