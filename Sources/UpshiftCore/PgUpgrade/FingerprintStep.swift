import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The window's verification: the new cluster's fingerprint (per database and table, row count and content
/// checksum, plus roles, extensions and locale, through libpq) compared with the "before" one that
/// `FingerprintDatabaseStep` kept in the run folder, and a login with the application's password. Also the
/// home of the fingerprint files' names, which rollbacks read too.
struct FingerprintStep: PlanStep {
    enum Phase: String { case before, after }
    var world: PgUpgradeWorld
    /// The standby branch: tables `FingerprintChangedTablesStep` found unchanged since the snapshot are not
    /// scanned again; their files, linked from the standby, must have the old cluster's sizes instead.
    var reusesUnchanged = false

    static func path(_ folder: RunFolder, _ phase: Phase) -> String { path(folder.path, phase) }
    static func path(_ folderPath: String, _ phase: Phase) -> String { folderPath + "/fingerprint-\(phase.rawValue).json" }

    func planned() -> PlannedStep {
        PlannedStep(
            id: "verify",
            title: reusesUnchanged
                ? "Verify: fingerprint the tables that changed since the snapshot and compare them, check the others' file sizes; log in over TCP with the application's password"
                : "Verify: fingerprint the new cluster and compare every table; log in over TCP with the application's password",
            kind: "pg.verify", mutates: false)
    }

    /// The old cluster's fingerprint, before the data moves.
    static func before(_ world: PgUpgradeWorld) -> FingerprintDatabaseStep {
        FingerprintDatabaseStep(
            id: "fingerprint-old", title: "Fingerprint the PostgreSQL \(world.context.oldMajor) cluster (rows and checksums per table)", kind: "pg.fingerprint",
            reach: world.reachesContainersDirectly
                ? "libpq to the container's address, port 5432, as \(world.database.superuser)"
                : "libpq to 127.0.0.1:\(world.context.hostPort) as \(world.database.superuser)",
            connection: { try await world.serverConnection() }, savePath: path(world.runFolder, .before))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let parameters = try await world.serverConnection()
        let before = try FingerprintFile.load(Self.path(world.runFolder, .before))
        var oldSizes: [String: [String: Int]] = [:]
        var known: [String: [String: TableFingerprint]] = [:]
        if reusesUnchanged {
            let data = try Data(contentsOf: URL(fileURLWithPath: FingerprintChangedTablesStep.unchangedPath(world.runFolder)))
            oldSizes = try JSONDecoder().decode([String: [String: Int]].self, from: data)
            known = before.tables(keeping: oldSizes.mapValues { Set($0.keys) })
        }
        let fingerprint = try await Fingerprinter.captureAsync(parameters, known: known) { db, table, position, count in context.report("checksum \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items)) }
        try FingerprintFile.save(fingerprint, to: Self.path(world.runFolder, .after))
        var differences = before.diff(against: fingerprint)
        if !oldSizes.isEmpty {
            let newSizes = try await Blocking.run { () throws -> [String: [String: Int]] in try Fingerprinter.relationSizes(parameters) }
            differences += Self.sizeDifferences(old: oldSizes, new: newSizes)
        }
        guard differences.isEmpty else {
            throw UpshiftError("verification failed: the new cluster differs from the old one:\n  " + differences.prefix(20).joined(separator: "\n  "))
        }
        try await ApplicationLogin.check(world: world, server: parameters)
        let unchanged = oldSizes.values.reduce(0) { $0 + $1.count }
        let reuse = unchanged == 0 ? "" : " (\(unchanged) tables unchanged since the snapshot were not scanned again: their files have the old cluster's sizes)"
        return StepOutcome(summary: "identical: " + FingerprintFile.describe(fingerprint) + reuse)
    }

    /// Tables not scanned again whose main fork is missing or of another size on the new cluster.
    static func sizeDifferences(old: [String: [String: Int]], new: [String: [String: Int]]) -> [String] {
        var out: [String] = []
        for database in old.keys.sorted() {
            for (table, size) in (old[database] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let now = new[database]?[table] else {
                    out.append("database \(database): table \(table): missing on the new cluster")
                    continue
                }
                if now != size { out.append("database \(database): table \(table): \(size) bytes -> \(now) bytes although unchanged since the snapshot") }
            }
        }
        return out
    }
}

/// Logs in over TCP as the application's own database user with its own password: this is what catches an
/// md5 hash restored under a scram-only pg_hba, or a missing `host all all all` line.
enum ApplicationLogin {
    /// - Parameter server: where the server is, if the caller already looked it up (each lookup of the
    ///   container's address is two docker calls inside the window).
    static func check(world: PgUpgradeWorld, server: ConnectionParameters? = nil) async throws {
        var logins: [(user: String, password: String?, database: String)] = [(world.database.superuser, world.database.password?.revealed, world.database.database)]
        for service in world.context.project.config.services.values {
            if let user = service.environmentValue("INVENTREE_DB_USER"), let name = service.environmentValue("INVENTREE_DB_NAME") {
                logins.append((user, service.environmentValue("INVENTREE_DB_PASSWORD"), name))
            }
        }
        var targets: [(user: String, parameters: ConnectionParameters)] = []
        for login in logins {
            var parameters: ConnectionParameters
            if let server { parameters = server.with(database: login.database) } else { parameters = try await world.serverConnection(database: login.database) }
            parameters.user = login.user
            parameters.password = login.password
            targets.append((login.user, parameters))
        }
        // Every login at once (each is a connection, and this runs in the window); the first failure in
        // order is the one reported.
        let failures = await withTaskGroup(of: (Int, String?).self) { group -> [Int: String] in
            for (index, target) in targets.enumerated() {
                let parameters = target.parameters
                group.addTask {
                    do {
                        _ = try await Blocking.run { () throws -> Int in try Connection(parameters).query("SELECT 1").rows.count }
                        return (index, nil)
                    } catch {
                        return (index, "\(error)")
                    }
                }
            }
            var out: [Int: String] = [:]
            for await (index, failure) in group { if let failure { out[index] = failure } }
            return out
        }
        if let index = failures.keys.min(), let failure = failures[index] {
            let target = targets[index]
            throw UpshiftError("the application user \(target.user) cannot log in to \(target.parameters.database) over TCP: \(world.redactor.redact(failure))")
        }
    }
}
