import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Before and after the data moves in the window: per database and table, row count and content checksum, plus roles, extensions and
/// locale, through libpq. The "before" fingerprint is kept in the run folder: the verification after the
/// restore and every rollback compare against it.
struct FingerprintStep: PlanStep {
    enum Phase: String { case before, after }
    var world: PgUpgradeWorld
    var phase: Phase

    static func path(_ folder: RunFolder, _ phase: Phase) -> String { path(folder.path, phase) }
    static func path(_ folderPath: String, _ phase: Phase) -> String { folderPath + "/fingerprint-\(phase.rawValue).json" }

    func planned() -> PlannedStep {
        switch phase {
        case .before:
            return PlannedStep(
                id: "fingerprint-old", title: "Fingerprint the PostgreSQL \(world.context.oldMajor) cluster (rows and checksums per table)",
                kind: "pg.fingerprint", mutates: false, notes: [world.reachesContainersDirectly
                    ? "libpq to the container's address, port 5432, as \(world.database.superuser)"
                    : "libpq to 127.0.0.1:\(world.context.hostPort) as \(world.database.superuser)"])
        case .after:
            return PlannedStep(
                id: "verify", title: "Verify: fingerprint the new cluster and compare every table; log in over TCP with the application's password",
                kind: "pg.verify", mutates: false)
        }
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let parameters = try await world.serverConnection()
        let fingerprint = try await Fingerprinter.captureAsync(parameters) { db, table, position, count in context.report("checksum \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items)) }
        try Self.save(fingerprint, to: Self.path(world.runFolder, phase))
        guard phase == .after else {
            return StepOutcome(summary: Self.describe(fingerprint))
        }
        let before = try Self.load(Self.path(world.runFolder, .before))
        let differences = before.diff(against: fingerprint)
        guard differences.isEmpty else {
            throw UpshiftError("verification failed: the new cluster differs from the old one:\n  " + differences.prefix(20).joined(separator: "\n  "))
        }
        try await ApplicationLogin.check(world: world, server: parameters)
        return StepOutcome(summary: "identical: " + Self.describe(fingerprint))
    }

    static func describe(_ fingerprint: Fingerprint) -> String {
        let tables = fingerprint.databases.reduce(0) { $0 + $1.tables.count }
        let rows = fingerprint.databases.reduce(0) { $0 + $1.totalRows }
        return "\(fingerprint.databases.count) databases, \(tables) tables, \(rows) rows"
    }

    static func save(_ fingerprint: Fingerprint, to path: String) throws {
        try PrivateJSON.write(fingerprint, to: path)
    }

    static func load(_ path: String) throws -> Fingerprint {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpshiftError("missing fingerprint \(path)") }
        return try JSONDecoder().decode(Fingerprint.self, from: data)
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
        for login in logins {
            var parameters: ConnectionParameters
            if let server { parameters = server.with(database: login.database) } else { parameters = try await world.serverConnection(database: login.database) }
            parameters.user = login.user
            parameters.password = login.password
            let sendable = parameters
            do {
                _ = try await Blocking.run { () throws -> Int in try Connection(sendable).query("SELECT 1").rows.count }
            } catch {
                throw UpshiftError("the application user \(login.user) cannot log in to \(login.database) over TCP: \(world.redactor.redact("\(error)"))")
            }
        }
    }
}
