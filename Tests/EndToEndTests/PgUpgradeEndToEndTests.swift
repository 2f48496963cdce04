import Foundation
import Testing
import UpshiftPostgres
import UpshiftTestSupport

/// `upshift pg-upgrade` and `upshift rollback` as a user runs them: the built binary on fresh copies of the sample
/// deployments on the test engine. Each scenario checks the data from outside upshift (libpq fingerprint at the
/// container's address, psql row counts), the files (byte-exact, with the diff shown in the log), the run folder and
/// journal, and that the database password appears in no output and no file upshift wrote.
///
/// Upgrades take most of a minute each, so every scenario combines several checks.
@Suite(.serialized)
struct PgUpgradeEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    // MARK: - 1. InvenTree 15 -> 18, then rollback

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func inventree15To18ThenRollback() async throws {
        try await E2EUpgrade.timed("inventree 15->18 + rollback") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgup-inv") { d in
                let password = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_PASSWORD"))
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 2)
                let db = "inventree-db"
                let composeBefore = try Data(contentsOf: d.url("docker-compose.yml"))
                let envBefore = try Data(contentsOf: d.url(".env"))
                let runningBefore = try await E2EUpgrade.runningServices(d)
                #expect(runningBefore == ["inventree-db", "inventree-server", "inventree-worker"])
                let countsBefore = try await E2EUpgrade.tableCounts(d, service: db)
                #expect(countsBefore.contains("public.part_part="), "\(countsBefore)")
                let mineBefore = try await E2EUpgrade.fingerprint(d, service: db, user: "pguser", password: password)
                #expect(mineBefore.serverMajor == 15)
                #expect(E2EUpgrade.totalRows(mineBefore) > 1000)
                var outputs: [(String, E2EOutput)] = []

                // --dry-run: the full plan, secrets masked, nothing changed.
                let dry = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
                outputs.append(("dry-run", dry))
                #expect(dry.exitCode == 0, "\(dry)")
                #expect(dry.stdout.contains("service inventree-db: postgres:15 -> postgres:18 (PostgreSQL 15 -> 18)"), "\(dry.stdout)")
                #expect(dry.stdout.contains("PGPASSWORD=******"))
                #expect(E2EUpgrade.runIDs(d).isEmpty, "a dry run must not create a run folder")
                #expect(try Data(contentsOf: d.url("docker-compose.yml")) == composeBefore)

                // The upgrade.
                let upgrade = try await E2EUpgrade.timed("  pg-upgrade --to 18 (inventree)") {
                    try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
                }
                outputs.append(("pg-upgrade", upgrade))
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                #expect(upgrade.stderr.contains("PostgreSQL 15 -> 18 done for \(d.projectName)"))
                let runID = try #require(E2EUpgrade.runIDs(d).last)
                #expect(E2EUpgrade.runIDs(d).count == 1)

                // upshift's own fingerprints, before and after, identical table by table.
                let runBefore = try E2EUpgrade.runFingerprint(d, runID, "before")
                let runAfter = try E2EUpgrade.runFingerprint(d, runID, "after")
                #expect(runBefore.serverMajor == 15 && runAfter.serverMajor == 18)
                #expect(runBefore.diff(against: runAfter).isEmpty, "\(runBefore.diff(against: runAfter))")
                #expect(E2EUpgrade.tableContent(runBefore) == E2EUpgrade.tableContent(runAfter))
                // ... and equal to what the test measured itself before the run.
                #expect(E2EUpgrade.tableContent(mineBefore) == E2EUpgrade.tableContent(runBefore))

                // Independent checks: the stack runs, on 18, with the same rows and checksums.
                try await E2EUpgrade.waitRunning(d, runningBefore)
                #expect(try await E2EUpgrade.serverMajor(d, service: db) == 18)
                let countsAfter = try await E2EUpgrade.tableCounts(d, service: db)
                #expect(countsAfter == countsBefore)
                let mineAfter = try await E2EUpgrade.fingerprint(d, service: db, user: "pguser", password: password)
                #expect(mineAfter.serverMajor == 18)
                #expect(E2EUpgrade.dataDiff(mineBefore, mineAfter).isEmpty, "\(E2EUpgrade.dataDiff(mineBefore, mineAfter))")
                #expect(E2EUpgrade.tableContent(mineBefore) == E2EUpgrade.tableContent(mineAfter))

                // Files: only the image line changed; .env untouched.
                let composeDiff = E2EUpgrade.lineDiff(String(decoding: composeBefore, as: UTF8.self), try d.read("docker-compose.yml"))
                E2EUpgrade.show("docker-compose.yml after 15->18", composeDiff)
                #expect(E2EUpgrade.diffBodies(composeDiff) == ["-    image: postgres:15", "+    image: postgres:18"], "\(composeDiff)")
                #expect(try Data(contentsOf: d.url(".env")) == envBefore)

                // The old data directory is kept beside the new one; the dump is in backups/.
                let data = d.path + "/inventree-data"
                #expect(Self.pgVersion(data + "/pgdb.pg15-\(runID)") == "15")
                #expect(Self.pgVersion(data + "/pgdb") == "18")
                let dump = d.path + "/backups/\(d.projectName)-pg15-\(runID)"
                // The engine has 2 cores: the default is the parallel dump, one -Fd directory per database.
                for (file, mode) in [("globals.sql", 0o600), ("manifest.json", 0o600), ("db-1.dir", 0o700), ("db-1.dir/toc.dat", 0o600)] {
                    let attributes = try FileManager.default.attributesOfItem(atPath: dump + "/" + file)
                    #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == mode, "\(file)")
                }

                // Journal: every changing step journaled as done, in plan order, nothing failed (read-only steps
                // have no journal records).
                // Which steps follow the window's decision is journaled with it; they are the ones that ran.
                let done = try E2EUpgrade.journalSteps(d, runID, type: "done")
                let decision = try #require(try E2EUpgrade.journal(d, runID).first { $0["type"] as? String == "decision" })
                let branch = decision["branch"] as? String
                #expect(branch == "prepared" || branch == "changed", "\(decision)")
                let replanned = (decision["plan"] as? [[String: Any]] ?? []).filter { $0["mutates"] as? Bool == true }.compactMap { $0["id"] as? String }
                #expect(done == Self.changingStepIDs + replanned, "\(done)")
                let window = ["dump", "stop-db", "move-data-aside", "switch-image", "start-new-db"]
                #expect(replanned == (branch == "prepared" ? window + ["start-stack"] : ["discard-staged"] + window + ["restore", "start-stack"]), "\(replanned)")
                #expect(try E2EUpgrade.journalSteps(d, runID, type: "failed").isEmpty)

                // Rollback returns to 15 with the old data and the original files.
                let rollback = try await E2EUpgrade.timed("  rollback (inventree)") { try await d.upshift(["rollback", "--yes"]) }
                outputs.append(("rollback", rollback))
                try #require(rollback.exitCode == 0, "\(rollback)")
                #expect(rollback.stderr.contains("old fingerprint verified"), "\(rollback.stderr)")
                #expect(rollback.stderr.contains("rollback of run \(runID) complete"))
                #expect(try Data(contentsOf: d.url("docker-compose.yml")) == composeBefore, "compose file not byte-identical after rollback")
                #expect(try Data(contentsOf: d.url(".env")) == envBefore, ".env not byte-identical after rollback")
                try await E2EUpgrade.waitRunning(d, runningBefore)
                #expect(try await E2EUpgrade.serverMajor(d, service: db) == 15)
                #expect(try await E2EUpgrade.tableCounts(d, service: db) == countsBefore)
                let mineRolledBack = try await E2EUpgrade.fingerprint(d, service: db, user: "pguser", password: password)
                #expect(E2EUpgrade.dataDiff(mineBefore, mineRolledBack).isEmpty, "\(E2EUpgrade.dataDiff(mineBefore, mineRolledBack))")
                #expect(Self.pgVersion(data + "/pgdb") == "15")
                #expect(Self.pgVersion(data + "/pgdb.failed-\(runID)") == "18", "the new cluster is kept aside, not deleted")
                let runRollback = try E2EUpgrade.runFingerprint(d, runID, "rollback")
                #expect(runBefore.diff(against: runRollback).isEmpty)
                let compensated = try E2EUpgrade.journalSteps(d, runID, type: "compensated")
                // stage-new-cluster builds the staged cluster: its undo deletes what is left of it. stage-subscriber
                // (not needed here: nothing was written) is undone too, in case a replica was left.
                #expect(Set(compensated) == ["start-stack", "start-new-db", "switch-image", "move-data-aside", "isolate-db", "stop-app", "stage-subscriber", "stage-new-cluster", "prepare-online"], "\(compensated)")

                try Self.expectNoSecret(password, in: d, outputs: outputs)
            }
        }
    }

    // MARK: - 2. Generic: named volume at the default PGDATA, 15 -> 18 (PGDATA pin); bad input refused

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func genericNamedVolumeTo18AndRefusals() async throws {
        try await E2EUpgrade.timed("generic 15->18 (named volume) + refusals") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "pgup-gen") { d in
                let password = try #require(try E2EUpgrade.envValue(d, "DB_PASSWORD"))
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 1)
                let composeBefore = try d.read("docker-compose.yml")
                let countsBefore = try await E2EUpgrade.tableCounts(d, service: "db")
                let mineBefore = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
                let runningBefore = try await E2EUpgrade.runningServices(d)
                #expect(runningBefore == ["app", "db"])
                var outputs: [(String, E2EOutput)] = []

                // Refusals: one clear line, exit 64, nothing changed (files, containers, run folders).
                let filesBefore = E2EUpgrade.hashTree(d.path, excluding: [".upshift"])
                let containersBefore = try await Self.containerStates(d)
                for (arguments, message) in [
                    (["pg-upgrade", "--to", "15", "--yes"], "error: --to 15 is not newer than the current major 15"),
                    (["pg-upgrade", "--to", "14", "--yes"], "error: --to 14 is not newer than the current major 15"),
                    (["pg-upgrade", "--to", "18", "--yes", "--db-service", "nosuch"], "error: service \"nosuch\" (--db-service) is not in the project"),
                ] {
                    let refused = try await d.upshift(arguments)
                    outputs.append((arguments.joined(separator: " "), refused))
                    #expect(refused.exitCode == 64, "\(arguments): \(refused)")
                    let errors = refused.stderr.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("error: ") }
                    #expect(errors.count == 1 && errors[0].hasPrefix(message), "\(arguments): \(refused.stderr)")
                }
                #expect(E2EUpgrade.treeChanges(filesBefore, E2EUpgrade.hashTree(d.path, excluding: [".upshift"])).isEmpty)
                #expect(E2EUpgrade.runIDs(d).isEmpty, "a refused run must not leave a run folder")
                #expect(try await Self.containerStates(d) == containersBefore)

                // The upgrade: the old cluster stays at the volume root; the service is pinned to a sub-directory.
                // --jobs 1: the single-stream plain SQL dump (the inventree scenario covers the parallel one).
                let upgrade = try await E2EUpgrade.timed("  pg-upgrade --to 18 --jobs 1 (generic)") {
                    try await d.upshift(["pg-upgrade", "--to", "18", "--jobs", "1", "--yes"])
                }
                outputs.append(("pg-upgrade", upgrade))
                try #require(upgrade.exitCode == 0, "\(upgrade)")
                let runID = try #require(E2EUpgrade.runIDs(d).last)
                let runBefore = try E2EUpgrade.runFingerprint(d, runID, "before")
                let runAfter = try E2EUpgrade.runFingerprint(d, runID, "after")
                #expect(runBefore.diff(against: runAfter).isEmpty, "\(runBefore.diff(against: runAfter))")
                #expect(E2EUpgrade.tableContent(runBefore) == E2EUpgrade.tableContent(runAfter))

                let diff = E2EUpgrade.lineDiff(composeBefore, try d.read("docker-compose.yml"))
                E2EUpgrade.show("docker-compose.yml after 15->18 (named volume)", diff)
                #expect(E2EUpgrade.diffBodies(diff) == [
                    "-    image: postgres:15", "+    image: postgres:18", "+      PGDATA: /var/lib/postgresql/data/pg18",
                ], "\(diff)")

                try await E2EUpgrade.waitRunning(d, runningBefore)
                #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
                #expect(try await E2EUpgrade.containerEnvironment(d, "db", "PGDATA") == "/var/lib/postgresql/data/pg18")
                #expect(try await E2EUpgrade.tableCounts(d, service: "db") == countsBefore)
                let mineAfter = try await E2EUpgrade.fingerprint(d, service: "db", user: "app", password: password)
                #expect(mineBefore.diff(against: mineAfter).isEmpty, "\(mineBefore.diff(against: mineAfter))")

                // status sees 18 on disk, in the pinned sub-directory of the same volume.
                let status = try await d.upshift(["status"])
                outputs.append(("status", status))
                #expect(status.stdout.contains("on disk    PostgreSQL 18 (PG_VERSION 18)"), "\(status.stdout)")
                #expect(status.stdout.contains("volume \(d.projectName)_dbdata (sub-path pg18)"), "\(status.stdout)")
                // The old cluster is untouched at the volume root.
                let root = try await E2EEnvironment.dockerChecked([
                    "run", "--rm", "--network", "none", "--entrypoint", "cat", "-v", "\(d.projectName)_dbdata:/v:ro", "postgres:15", "/v/PG_VERSION",
                ])
                #expect(root.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "15")

                try Self.expectNoSecret(password, in: d, outputs: outputs)
            }
        }
    }

    // MARK: - 3. Image from .env (postgres:${PG_MAJOR}): 15 -> 16 -> 18, only the .env line changes

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func envVariableImage15To16To18() async throws {
        try await E2EUpgrade.timed("inventree via .env PG_MAJOR 15->16->18") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "pgup-env") { d in
                let password = try #require(try E2EUpgrade.envValue(d, "INVENTREE_DB_PASSWORD"))
                let original = try d.read("docker-compose.yml")
                let variant = original.replacingOccurrences(of: "    image: postgres:15\n", with: "    image: postgres:${PG_MAJOR}\n")
                try #require(variant != original)
                try d.write("docker-compose.yml", variant)
                try d.setEnv("PG_MAJOR", "15")
                try await d.up()
                try await E2EUpgrade.seed(d, megabytes: 1)
                let db = "inventree-db"
                let runningBefore = try await E2EUpgrade.runningServices(d)
                let countsBefore = try await E2EUpgrade.tableCounts(d, service: db)
                let mineBefore = try await E2EUpgrade.fingerprint(d, service: db, user: "pguser", password: password)
                var outputs: [(String, E2EOutput)] = []

                var current = 15
                for target in [16, 18] {
                    let from = current
                    let composeBefore = try Data(contentsOf: d.url("docker-compose.yml"))
                    let envBefore = try d.read(".env")
                    let upgrade = try await E2EUpgrade.timed("  pg-upgrade --to \(target) (from \(from), .env variable)") {
                        try await d.upshift(["pg-upgrade", "--to", "\(target)", "--yes"])
                    }
                    outputs.append(("pg-upgrade --to \(target)", upgrade))
                    try #require(upgrade.exitCode == 0, "\(upgrade)")
                    current = target
                    #expect(upgrade.stderr.contains("PostgreSQL \(from) -> \(target) done"))
                    let runID = try #require(E2EUpgrade.runIDs(d).last)
                    let runBefore = try E2EUpgrade.runFingerprint(d, runID, "before")
                    let runAfter = try E2EUpgrade.runFingerprint(d, runID, "after")
                    #expect(runBefore.serverMajor == from && runAfter.serverMajor == target)
                    #expect(runBefore.diff(against: runAfter).isEmpty, "\(runBefore.diff(against: runAfter))")
                    #expect(E2EUpgrade.tableContent(runBefore) == E2EUpgrade.tableContent(runAfter))

                    #expect(try Data(contentsOf: d.url("docker-compose.yml")) == composeBefore, "the compose file must not change")
                    let envDiff = E2EUpgrade.lineDiff(envBefore, try d.read(".env"))
                    E2EUpgrade.show(".env after \(from)->\(target)", envDiff)
                    #expect(E2EUpgrade.diffBodies(envDiff) == ["-PG_MAJOR=\(from)", "+PG_MAJOR=\(target)"], "\(envDiff)")

                    try await E2EUpgrade.waitRunning(d, runningBefore)
                    #expect(try await E2EUpgrade.serverMajor(d, service: db) == target)
                    #expect(try await E2EUpgrade.tableCounts(d, service: db) == countsBefore)
                    let mine = try await E2EUpgrade.fingerprint(d, service: db, user: "pguser", password: password)
                    #expect(E2EUpgrade.dataDiff(mineBefore, mine).isEmpty, "\(from)->\(target): \(E2EUpgrade.dataDiff(mineBefore, mine))")
                    #expect(Self.pgVersion(d.path + "/inventree-data/pgdb.pg\(from)-\(runID)") == "\(from)")
                    #expect(Self.pgVersion(d.path + "/inventree-data/pgdb") == "\(target)")
                }
                #expect(current == 18)
                try Self.expectNoSecret(password, in: d, outputs: outputs)
            }
        }
    }

    // MARK: - Shared checks

    /// The pg-upgrade steps that change something before the window's decision, in plan order (as
    /// journaled; snapshot and check-snapshot are read-only and not journaled).
    static let changingStepIDs = ["prepare-online", "stage-new-cluster", "stage-subscriber", "stop-app", "isolate-db"]

    /// `PG_VERSION` of a cluster directory on the host (bind mounts), trimmed; nil when absent.
    static func pgVersion(_ directory: String) -> String? {
        (try? String(contentsOfFile: directory + "/PG_VERSION", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `service id state` of every container of the project, for "nothing changed" checks.
    static func containerStates(_ d: E2EDeployment) async throws -> [String] {
        let out = try await d.composeChecked(["ps", "-a", "--format", "{{.Service}} {{.ID}} {{.State}}"])
        return out.stdout.split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    /// The password is in no output and in no file upshift wrote — except the byte-exact `.env` copies of the
    /// compose snapshot (the rollback needs them; they must be mode 0600 and identical to a real `.env`).
    static func expectNoSecret(_ password: String, in d: E2EDeployment, outputs: [(String, E2EOutput)]) throws {
        for (label, output) in outputs {
            #expect(!output.stdout.contains(password) && !output.stderr.contains(password), "password printed by \(label)")
        }
        let upshiftDir = d.path + "/.upshift"
        let leaks = E2EUpgrade.filesContaining(password, under: upshiftDir)
        for leak in leaks {
            let isEnvSnapshot = leak.hasPrefix("runs/") && leak.contains("/compose/") && leak.hasSuffix(".env")
            #expect(isEnvSnapshot, "password found in .upshift/\(leak)")
            if isEnvSnapshot {
                let attributes = try FileManager.default.attributesOfItem(atPath: upshiftDir + "/" + leak)
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, ".upshift/\(leak) is not 0600")
            }
        }
        let audit = (try? String(contentsOfFile: upshiftDir + "/audit.jsonl", encoding: .utf8)) ?? ""
        for runID in E2EUpgrade.runIDs(d) { #expect(audit.contains(runID), "run \(runID) is not in the audit log") }
        #expect(E2EUpgrade.filesContaining(password, under: d.path + "/backups").isEmpty, "password in a dump file")
        print("secret scan: \(leaks.count) .env snapshot copies hold the password (0600); no other file or output does")
    }
}
