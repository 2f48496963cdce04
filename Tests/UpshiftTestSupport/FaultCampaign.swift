import Foundation
import Testing
import UpshiftPostgres
#if canImport(Glibc)
import Glibc
#endif

/// The fault campaign's checks: what the deployment looked like before a fault, and whether it is exactly
/// that again afterwards — measured from outside upshift (libpq at the container's address, psql counts,
/// the files' bytes, `PG_VERSION` on disk, the running services).
///
/// Each scenario collects its problems in a `FaultVerdict` (each one is also an `Issue`), so the row it adds
/// to the result table can only say "recovered, data equal (fingerprint + psql row hashes)" when every check passed.
public enum FaultCampaign {
    /// The InvenTree sample's database service, superuser and the variables that hold secrets.
    public static let dbService = "inventree-db"
    public static let dbUser = "pguser"
    /// A second secret the deployment's `.env` holds (InvenTree's SMTP password), which upshift is never told
    /// about: it must not appear anywhere either.
    public static let mailPassword = "Fault-Mail-pw-5b1e0d77"

    /// Prepares a fresh InvenTree copy: a mail password in `.env`, stack up, `megabytes` of seeded data.
    public static func prepare(_ d: E2EDeployment, megabytes: Int = 2) async throws {
        try d.setEnv("INVENTREE_EMAIL_PASSWORD", mailPassword)
        try await d.up()
        try await E2EUpgrade.seed(d, megabytes: megabytes)
        // The app writes on every start (plugin registry: INSERT ... ON CONFLICT DO NOTHING consumes sequence
        // values), so a restarted stack would never match a fingerprint taken before. With plugins off it
        // writes nothing at start, and the comparison stays exact, sequences included.
        try d.setEnv("INVENTREE_PLUGINS_ENABLED", "False")
        try await d.up()
    }

    /// The deployment's secrets: the database password from `.env` and the admin password.
    public static func secrets(_ d: E2EDeployment) throws -> [String] {
        guard let db = try E2EUpgrade.envValue(d, "INVENTREE_DB_PASSWORD") else { throw E2EFailure("no INVENTREE_DB_PASSWORD in .env") }
        return [db, mailPassword]
    }

    /// The data directory of the sample on the host (bind mount `./inventree-data`, PGDATA `…/pgdb`).
    public static func dataDirectory(_ d: E2EDeployment) -> String { d.path + "/inventree-data" }

    /// `PG_VERSION` of the cluster at `pgdb` (nil when there is none).
    public static func pgVersionOnDisk(_ d: E2EDeployment) -> String? {
        (try? String(contentsOfFile: dataDirectory(d) + "/pgdb/PG_VERSION", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The entries of the data directory (to see that nothing new was initialised beside the cluster).
    public static func dataEntries(_ d: E2EDeployment) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDirectory(d))) ?? []).sorted()
    }

    // MARK: - Baseline

    /// What must be true again after the fault: measured before the run.
    public struct Baseline: Sendable {
        public var compose: Data
        public var env: Data
        public var files: [String: String]
        public var counts: String
        /// Plain psql: every table's sorted row hashes (`E2EUpgrade.tableHashes`).
        public var hashes: String
        public var fingerprint: Fingerprint
        public var running: Set<String>
        public var dataEntries: [String]

        public static func take(_ d: E2EDeployment) async throws -> Baseline {
            let secrets = try FaultCampaign.secrets(d)
            return Baseline(
                compose: try Data(contentsOf: d.url("docker-compose.yml")),
                env: try Data(contentsOf: d.url(".env")),
                files: E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups", "inventree-data"]),
                counts: try await E2EUpgrade.tableCounts(d, service: dbService),
                hashes: try await E2EUpgrade.tableHashes(d, service: dbService),
                fingerprint: try await E2EUpgrade.fingerprint(d, service: dbService, user: dbUser, password: secrets[0]),
                running: try await E2EUpgrade.runningServices(d),
                dataEntries: FaultCampaign.dataEntries(d))
        }
    }

    /// Checks the deployment is back at `baseline`: PostgreSQL 15 at `pgdb`, same rows and checksums (own
    /// libpq fingerprint and psql counts), compose file and `.env` byte-identical, no other file changed, the
    /// same services running. `movedAsideAllowed`: entries a run may leave beside `pgdb` (its failed new cluster).
    public static func expectBack(_ d: E2EDeployment, _ baseline: Baseline, _ verdict: FaultVerdict) async throws {
        let secrets = try secrets(d)
        verdict.check(pgVersionOnDisk(d) == "15", "PG_VERSION at pgdb is \(pgVersionOnDisk(d) ?? "missing"), not 15")
        verdict.check(try Data(contentsOf: d.url("docker-compose.yml")) == baseline.compose, "docker-compose.yml differs from the original")
        verdict.check(try Data(contentsOf: d.url(".env")) == baseline.env, ".env differs from the original")
        let changes = E2EUpgrade.treeChanges(baseline.files, E2EUpgrade.hashTree(d.path, excluding: [".upshift", "backups", "inventree-data"]))
        verdict.check(changes.isEmpty, "files changed: \(changes)")
        // A cluster restored before the window is upshift's scratch copy: every undo deletes it.
        verdict.check(!dataEntries(d).contains { $0.contains(".staged-") || $0.contains(".copy-") }, "a staged cluster or private copy remains: \(dataEntries(d))")
        do {
            try await E2EUpgrade.waitRunning(d, baseline.running, timeout: .seconds(120))
        } catch {
            verdict.fail("services not running again: \(error)")
        }
        let running = try await E2EUpgrade.runningServices(d)
        verdict.check(running == baseline.running, "running services \(running.sorted()) != before \(baseline.running.sorted())")
        let major = try await E2EUpgrade.serverMajor(d, service: dbService)
        verdict.check(major == 15, "the running server is PostgreSQL \(major)")
        let counts = try await E2EUpgrade.tableCounts(d, service: dbService)
        verdict.check(counts == baseline.counts, "row counts differ")
        let hashes = try await E2EUpgrade.tableHashes(d, service: dbService)
        verdict.check(hashes == baseline.hashes && !hashes.isEmpty, "rows differ (psql row hashes)")
        let now = try await E2EUpgrade.fingerprint(d, service: dbService, user: dbUser, password: secrets[0])
        let diff = baseline.fingerprint.diff(against: now)
        verdict.check(diff.isEmpty, "fingerprint differs: \(diff.prefix(5))")
        verdict.check(E2EUpgrade.tableContent(baseline.fingerprint) == E2EUpgrade.tableContent(now), "per-table rows/checksums differ")
        verdict.fingerprintEqual = diff.isEmpty && E2EUpgrade.tableContent(baseline.fingerprint) == E2EUpgrade.tableContent(now) && major == 15 && hashes == baseline.hashes
    }

    // MARK: - Secrets and permissions

    /// Files that hold the `.env` by necessity (byte copies for the restore): allowed to contain secrets only
    /// when private (0600 in a 0700 run folder). The resolved config is not one: its secrets are masked.
    static func isPrivateCopy(_ relative: String) -> Bool {
        relative.hasPrefix("runs/") && relative.contains("/compose/")
    }

    /// Greps every artefact for every secret: the outputs given, all of `.upshift` (audit log, journals, plans,
    /// run folders), the dump folder(s). Also checks run folders 0700, their files 0600, dump folders 0700 and
    /// dump files 0600. Returns a one-line summary for the log.
    @discardableResult
    public static func expectNoSecrets(_ d: E2EDeployment, outputs: [(String, String)], backupDirectories: [String] = [], verdict: FaultVerdict) throws -> String {
        let secrets = try secrets(d)
        for (label, text) in outputs {
            for (index, secret) in secrets.enumerated() where text.contains(secret) {
                verdict.fail("secret #\(index + 1) printed by \(label)")
            }
        }
        let state = d.path + "/.upshift"
        var privateCopies = Set<String>()
        for (index, secret) in secrets.enumerated() {
            for leak in E2EUpgrade.filesContaining(secret, under: state) {
                if isPrivateCopy(leak) {
                    privateCopies.insert(leak)
                } else {
                    verdict.fail("secret #\(index + 1) found in .upshift/\(leak)")
                }
            }
            for directory in [d.path + "/backups"] + backupDirectories {
                for leak in E2EUpgrade.filesContaining(secret, under: directory) { verdict.fail("secret #\(index + 1) in dump file \(directory)/\(leak)") }
            }
        }
        var checkedModes = 0
        for runID in E2EUpgrade.runIDs(d) {
            let folder = E2EUpgrade.runFolder(d, runID)
            verdict.check(mode(folder) == 0o700, "run folder \(runID) is \(octal(mode(folder))), not 0700")
            for relative in FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? [] {
                let path = folder + "/" + relative
                let m = mode(path)
                if isDirectory(path) {
                    verdict.check(m & 0o077 == 0, "run folder entry \(runID)/\(relative) is \(octal(m)) (group/other access)")
                } else {
                    verdict.check(m & 0o077 == 0, "run file \(runID)/\(relative) is \(octal(m)), not private")
                }
                checkedModes += 1
            }
        }
        for directory in [d.path + "/backups"] + backupDirectories where FileManager.default.fileExists(atPath: directory) {
            for relative in FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? [] {
                let path = directory + "/" + relative
                let m = mode(path)
                if isDirectory(path) {
                    verdict.check(m == 0o700, "dump folder \(relative) is \(octal(m)), not 0700")
                } else {
                    verdict.check(m == 0o600, "dump file \(relative) is \(octal(m)), not 0600")
                }
                checkedModes += 1
            }
        }
        for copy in privateCopies { verdict.check(mode(state + "/" + copy) == 0o600, ".upshift/\(copy) holds secrets and is not 0600") }
        return "secret scan: \(outputs.count) outputs, .upshift and dumps clean (\(privateCopies.count) private 0600 copies of .env/resolved config hold them); \(checkedModes) modes checked"
    }

    public static func mode(_ path: String) -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else { return -1 }
        return Int(info.st_mode) & 0o7777
    }

    public static func owner(_ path: String) -> UInt32? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_uid
    }

    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }

    public static func octal(_ mode: Int) -> String { mode < 0 ? "missing" : "0" + String(mode, radix: 8) }
}

/// The problems one scenario found. Every problem is recorded as a test issue at once and kept for the row.
public final class FaultVerdict: @unchecked Sendable {
    public let scenario: String
    public let injectedAt: String
    private let lock = NSLock()
    private var storedProblems: [String] = []
    private var storedOutcome = "?"
    private var storedFingerprintEqual = false
    private let started = ContinuousClock.now

    public init(scenario: String, injectedAt: String) {
        self.scenario = scenario
        self.injectedAt = injectedAt
    }

    public var problems: [String] { lock.withLock { storedProblems } }
    public var outcome: String {
        get { lock.withLock { storedOutcome } }
        set { lock.withLock { storedOutcome = newValue } }
    }
    public var fingerprintEqual: Bool {
        get { lock.withLock { storedFingerprintEqual } }
        set { lock.withLock { storedFingerprintEqual = newValue } }
    }

    public func fail(_ problem: String, sourceLocation: SourceLocation = #_sourceLocation) {
        lock.withLock { storedProblems.append(problem) }
        Issue.record("[\(scenario) @ \(injectedAt)] \(problem)", sourceLocation: sourceLocation)
    }

    public func check(_ condition: Bool, _ problem: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        if !condition { fail(problem(), sourceLocation: sourceLocation) }
    }

    /// The verdict of a scenario whose every check passed: upshift's fingerprint and plain psql agree.
    public static let recovered = "recovered, data equal (fingerprint + psql row hashes)"

    /// `recovered` only when every check passed.
    public var dataVerified: String {
        let problems = self.problems
        if problems.isEmpty && fingerprintEqual { return Self.recovered }
        if problems.isEmpty { return "NOT VERIFIED (fingerprint not compared)" }
        return "NOT RECOVERED: \(problems.count) problem(s): \(problems[0].prefix(80))"
    }

    /// Appends this scenario's row to the campaign table and prints the table so far.
    public func record() {
        let elapsed = ContinuousClock.now - started
        FaultTable.append([scenario, injectedAt, outcome, dataVerified, "\(elapsed.components.seconds) s"])
        print(FaultTable.render())
    }
}

/// The campaign's result table: one row per scenario, appended by every test to a file, so that the table of
/// the whole campaign (several tests, several suites) can be printed at the end by `scripts/fault-campaign`
/// or `.ci/run`. `UPSHIFT_FAULT_TABLE` overrides the file (default `$TMPDIR/upshift-fault-table.txt`).
public enum FaultTable {
    public static let header = ["scenario", "injected at", "outcome", "data verified", "time"]

    public static var path: String {
        ProcessInfo.processInfo.environment["UPSHIFT_FAULT_TABLE"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("upshift-fault-table.txt").path
    }

    /// Appends one row (fields joined by a tab) with `O_APPEND`, safe against parallel tests.
    public static func append(_ fields: [String]) {
        let line = fields.map { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\t") + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = line.utf8CString.withUnsafeBufferPointer { buffer in write(fd, buffer.baseAddress, buffer.count - 1) }
    }

    /// The rows written so far, as an aligned text table.
    public static func render() -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let rows = [header] + text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let widths = header.indices.map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            "| " + header.indices.map { column in (column < row.count ? row[column] : "").padding(toLength: widths[column], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"
        return (["FAULT CAMPAIGN (\(path))", line(rows[0]), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
    }
}

/// Everything upshift printed during a scenario (label, stdout+stderr), for the secret scan at the end.
public final class FaultOutputs: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(String, String)] = []

    public init() {}

    public func add(_ label: String, _ text: String) { lock.withLock { stored.append((label, text)) } }

    public var all: [(String, String)] { lock.withLock { stored } }
}
