import Foundation
import UpshiftPostgres
import UpshiftSupport

/// What the `pg-upgrade` end-to-end tests check from outside upshift: the data through libpq and psql, the
/// files by hash and by line diff, the run folder and journal, and secrets nowhere they should not be.
///
/// Every check here is independent of upshift's own code paths (its fingerprint files are compared, but also
/// recomputed by the test through the container's address), so a bug in upshift cannot hide itself.
public enum E2EUpgrade {
    // MARK: - Values from the deployment

    /// `KEY`'s value in the copy's `.env` (unquoted), e.g. the database password the test must never see printed.
    public static func envValue(_ deployment: E2EDeployment, _ key: String) throws -> String? {
        for line in try deployment.read(".env").split(whereSeparator: \.isNewline) where line.hasPrefix("\(key)=") {
            var value = String(line.dropFirst(key.count + 1))
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }

    /// The IPv4 address of `service`'s container on its compose network: the test engine's bridge networks
    /// are routed from this host, so libpq reaches the server without publishing a port (nothing in the
    /// deployment changes for the test to look).
    public static func containerAddress(_ deployment: E2EDeployment, _ service: String) async throws -> String {
        let id = try await deployment.containerID(service)
        guard !id.isEmpty else { throw E2EFailure("service \(service) of \(deployment.projectName) has no container") }
        let inspect = try await E2EEnvironment.dockerChecked(
            ["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", id])
        guard let address = inspect.stdout.split(separator: " ").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }).first(where: { !$0.isEmpty }) else {
            throw E2EFailure("container \(id) of \(service) has no IP address: \(inspect.stdout)")
        }
        return address
    }

    /// The whole-cluster fingerprint, computed by the test itself through libpq at the container's address.
    /// Polls until the server accepts the login (it may be restarting).
    public static func fingerprint(_ deployment: E2EDeployment, service: String, user: String, password: String?, timeout: Duration = .seconds(120)) async throws -> Fingerprint {
        try await E2EPoll.value("libpq fingerprint of \(service) in \(deployment.projectName)", timeout: timeout, interval: .milliseconds(500)) {
            let address = try await containerAddress(deployment, service)
            let parameters = ConnectionParameters(host: address, port: 5432, user: user, password: password, database: "postgres", connectTimeout: 3, applicationName: "upshift-e2e")
            return try await Fingerprinter.captureAsync(parameters)
        }
    }

    /// `psql` inside the database container (socket, as the container's `POSTGRES_USER`, so no password is
    /// used by the test): `-At` output of `sql`. Without `POSTGRES_USER` (mastodon's trust-only service) the
    /// user and database are `postgres`, as the image's entrypoint makes them; on Bitnami they are `postgres`,
    /// with `POSTGRESQL_POSTGRES_PASSWORD` from the container's environment.
    public static func psql(_ deployment: E2EDeployment, service: String, database: String? = nil, _ sql: String) async throws -> String {
        // Bitnami: the superuser is postgres, and its socket asks for the password too.
        let script = "U=${POSTGRES_USER:-postgres}; if [ -n \"${POSTGRESQL_POSTGRES_PASSWORD:-}\" ]; then export PGPASSWORD=\"$POSTGRESQL_POSTGRES_PASSWORD\"; fi; exec psql -X -At -v ON_ERROR_STOP=1 -U \"$U\" -d \"${1:-${POSTGRES_DB:-$U}}\" -c \"$2\""
        let out = try await deployment.exec(service, ["sh", "-c", script, "psql", database ?? "", sql])
        try out.checked("psql in \(service) of \(deployment.projectName): \(sql.prefix(120))")
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Exact `count(*)` of every user table of the application database, as `schema.table=N` lines — an
    /// independent row count (psql inside the container, not upshift's libpq fingerprint).
    public static func tableCounts(_ deployment: E2EDeployment, service: String, database: String? = nil) async throws -> String {
        try await perTable(deployment, service: service, database: database, what: "row counts", timeout: .seconds(120), value: "count(*)")
    }

    /// One hash per user table over its rows' text (`md5` of each row's `t::text`, the row hashes sorted and
    /// hashed again), as `schema.table=HEX` lines: the data compared by plain psql inside the container,
    /// independent of upshift's own `Fingerprinter`.
    public static func tableHashes(_ deployment: E2EDeployment, service: String, database: String? = nil) async throws -> String {
        try await perTable(deployment, service: service, database: database, what: "row hashes", timeout: .seconds(180),
                           value: "md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))")
    }

    /// `schema.table=<value>` for every user table, `value` an aggregate over the table aliased `t`. Two queries
    /// (the table list, then one UNION ALL) because the PG16/18 fixture servers have no libxml.
    static func perTable(_ deployment: E2EDeployment, service: String, database: String?, what: String, timeout: Duration, value: String) async throws -> String {
        try await E2EPoll.value("\(what) in \(service) of \(deployment.projectName)", timeout: timeout, interval: .milliseconds(500)) {
            let tables = try await psql(deployment, service: service, database: database, """
                SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
                """).split(whereSeparator: \.isNewline).map(String.init)
            guard !tables.isEmpty else { return "" }
            let parts = tables.map { qualified -> String in
                let dot = qualified.firstIndex(of: ".")!
                let schema = String(qualified[..<dot]), table = String(qualified[qualified.index(after: dot)...])
                return "SELECT \(literal(qualified + "=")) || \(value) FROM \(identifier(schema)).\(identifier(table)) t"
            }
            return try await psql(deployment, service: service, database: database, parts.joined(separator: " UNION ALL ") + " ORDER BY 1")
        }
    }

    static func identifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// The running server's major, through psql in the container.
    public static func serverMajor(_ deployment: E2EDeployment, service: String) async throws -> Int {
        let text = try await E2EPoll.value("server_version_num of \(service)", timeout: .seconds(120), interval: .milliseconds(500)) {
            try await psql(deployment, service: service, "SHOW server_version_num")
        }
        guard let number = Int(text) else { throw E2EFailure("server_version_num is not a number: \(text)") }
        return number / 10000
    }

    /// The value of `name` in the running container's environment (`docker inspect`), e.g. PGDATA.
    public static func containerEnvironment(_ deployment: E2EDeployment, _ service: String, _ name: String) async throws -> String? {
        let id = try await deployment.containerID(service)
        let out = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", id])
        return out.stdout.split(whereSeparator: \.isNewline).first { $0.hasPrefix("\(name)=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// Services of the project whose container is running (`ps --status running`).
    public static func runningServices(_ deployment: E2EDeployment) async throws -> Set<String> {
        let out = try await deployment.composeChecked(["ps", "--status", "running", "--services"])
        return Set(out.stdout.split(whereSeparator: \.isNewline).map(String.init))
    }

    /// Polls until every service in `expected` is running.
    public static func waitRunning(_ deployment: E2EDeployment, _ expected: Set<String>, timeout: Duration = .seconds(120)) async throws {
        try await E2EPoll.until("services \(expected.sorted()) running in \(deployment.projectName)", timeout: timeout, interval: .milliseconds(500)) {
            expected.isSubset(of: try await runningServices(deployment))
        }
    }

    // MARK: - Files

    /// SHA-256 of every regular file under `directory` (relative path -> hex), skipping paths that start with
    /// one of `excluding` (relative). Unreadable files are recorded as such, not skipped.
    public static func hashTree(_ directory: String, excluding: [String] = []) -> [String: String] {
        var hashes: [String: String] = [:]
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [:] }
        while let relative = enumerator.nextObject() as? String {
            if excluding.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) { continue }
            let path = root + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            hashes[relative] = (try? SHA256.hexOfFile(atPath: path)) ?? "unreadable"
        }
        return hashes
    }

    /// What differs between two `hashTree` results, one line per path (empty when identical).
    public static func treeChanges(_ before: [String: String], _ after: [String: String]) -> [String] {
        Set(before.keys).union(after.keys).sorted().compactMap { path in
            switch (before[path], after[path]) {
            case (nil, _): return "added \(path)"
            case (_, nil): return "removed \(path)"
            case let (a?, b?) where a != b: return "changed \(path)"
            default: return nil
            }
        }
    }

    /// A minimal line diff (longest common subsequence): `-old` / `+new` lines with 1-based line numbers,
    /// for showing in the test output exactly what upshift changed in a compose file or `.env`.
    public static func lineDiff(_ old: String, _ new: String) -> [String] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var lines: [String] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                i += 1; j += 1
            } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
                lines.append("-\(i + 1): \(a[i])"); i += 1
            } else {
                lines.append("+\(j + 1): \(b[j])"); j += 1
            }
        }
        return lines
    }

    /// The diff lines without their line numbers (`-text` / `+text`), for exact assertions.
    public static func diffBodies(_ diff: [String]) -> [String] {
        diff.map { line in
            let sign = line.prefix(1)
            guard let colon = line.firstIndex(of: ":") else { return line }
            return String(sign) + String(line[line.index(colon, offsetBy: 2)...])
        }
    }

    /// Prints a labelled diff into the test log (the brief asks to show it).
    public static func show(_ label: String, _ diff: [String]) {
        print("--- diff \(label)\n" + (diff.isEmpty ? "(no change)" : diff.joined(separator: "\n")))
    }

    /// Every file under `directory` whose bytes contain `secret` (relative paths), skipping `allowed`.
    public static func filesContaining(_ secret: String, under directory: String, allowed: Set<String> = []) -> [String] {
        let needle = Data(secret.utf8)
        var found: [String] = []
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard !allowed.contains(relative), FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path)
            else { continue }
            if data.range(of: needle) != nil { found.append(relative) }
        }
        return found.sorted()
    }

    // MARK: - Run folders

    /// The run ids recorded under `<project>/.upshift/runs`, oldest first.
    public static func runIDs(_ deployment: E2EDeployment) -> [String] {
        let dir = deployment.path + "/.upshift/runs"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    public static func runFolder(_ deployment: E2EDeployment, _ runID: String) -> String {
        deployment.path + "/.upshift/runs/" + runID
    }

    /// The journal of a run as JSON objects, one per line.
    public static func journal(_ deployment: E2EDeployment, _ runID: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: runFolder(deployment, runID) + "/journal.jsonl", encoding: .utf8)
        return try text.split(whereSeparator: \.isNewline).map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw E2EFailure("journal line is not an object: \(line.prefix(200))")
            }
            return object
        }
    }

    /// The `step` of every journal record of `type` ("done", "failed", "compensated", ...), in journal order.
    public static func journalSteps(_ deployment: E2EDeployment, _ runID: String, type: String) throws -> [String] {
        try journal(deployment, runID).filter { $0["type"] as? String == type }.compactMap { $0["step"] as? String }
    }

    /// A fingerprint file upshift wrote into the run folder (`before`, `after`, `rollback`).
    public static func runFingerprint(_ deployment: E2EDeployment, _ runID: String, _ phase: String) throws -> Fingerprint {
        let path = runFolder(deployment, runID) + "/fingerprint-\(phase).json"
        guard let data = FileManager.default.contents(atPath: path) else { throw E2EFailure("missing \(path)") }
        return try JSONDecoder().decode(Fingerprint.self, from: data)
    }

    /// Per-table `rowCount`/`checksum` of every database, keyed `db/schema.table` — the content part of a
    /// fingerprint, for an exact equality check beside `Fingerprint.diff`.
    public static func tableContent(_ fingerprint: Fingerprint) -> [String: String] {
        var content: [String: String] = [:]
        for database in fingerprint.databases {
            for table in database.tables { content["\(database.name)/\(table.qualifiedName)"] = "\(table.rowCount) \(table.checksum)" }
        }
        return content
    }

    /// `Fingerprint.diff` without the sequence lines: for the test's own fingerprints of a *running* stack. The
    /// InvenTree stand-in registers its plugins on every start (`INSERT ... ON CONFLICT DO NOTHING`), which
    /// advances `plugin_pluginconfig_id_seq` without adding a row, so a restart alone moves that sequence.
    /// upshift's own before/after fingerprints (application stopped) are compared in full.
    public static func dataDiff(_ a: Fingerprint, _ b: Fingerprint) -> [String] {
        a.diff(against: b).filter { !$0.contains(": sequence ") }
    }

    public static func totalRows(_ fingerprint: Fingerprint) -> Int {
        fingerprint.databases.reduce(0) { $0 + $1.totalRows }
    }

    // MARK: - Seeding

    /// `compose/seed <copy> --megabytes N` (realistic rows for the sample's layout), against the test engine.
    public static func seed(_ deployment: E2EDeployment, megabytes: Int, extra: [String] = []) async throws {
        let command = Command(
            E2EEnvironment.repositoryRoot.appendingPathComponent("compose/seed").path,
            [deployment.path, "--megabytes", "\(megabytes)"] + extra,
            environment: E2EEnvironment.childEnvironment, workingDirectory: deployment.path, timeout: .seconds(300))
        try E2EOutput(try await E2EEnvironment.runner.run(command)).checked("compose/seed \(deployment.projectName)")
    }

    // MARK: - Timing

    /// Runs `body` and prints its wall time under `label` (the brief asks for per-test times).
    public static func timed<T>(_ label: String, _ body: () async throws -> T) async rethrows -> T {
        let clock = ContinuousClock()
        let start = clock.now
        defer { print("TIMING \(label): \(clock.now - start)") }
        return try await body()
    }
}
