import Foundation
import Synchronization
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The full comparison again, after the application is back, for the standby branch, whose window scanned
/// only the tables that changed since the snapshot and checked the others by their files' sizes
/// (`FingerprintStep.reusesUnchanged`).
///
/// Why a held snapshot: once the application writes, the new cluster no longer equals the old one at the
/// window's end. So start-stack exports one snapshot per database of the new server after it is recreated
/// and before the application starts (`hold`); the recheck reads every table inside those snapshots, while the
/// application runs, and compares them with the old cluster's fingerprint (`fingerprint-before.json`: the
/// snapshot's for unchanged tables, the window's for the others). Sequences and roles are left out: they
/// move outside any snapshot, and the window compared them. It changes nothing; a difference is reported
/// loudly, with the way back (a rollback, which loses what the application wrote since).
public enum FullRecheck {
    /// Snapshots held for a run between start-stack and the recheck (one process: the run's own).
    private static let held = Mutex<[String: [String: ExportedSnapshot]]>([:])

    /// What the recheck found.
    public enum Outcome: Sendable, Equatable {
        /// Every table equal: `tables` compared, in `seconds`.
        case identical(tables: Int, seconds: Double)
        /// Differences (human-readable lines).
        case differs([String])
        /// The recheck could not run (why): nothing is known beyond the window's own verification.
        case notRun(String)

        /// The audit record's fields (`verify.recheck`).
        public var auditFields: [String: String] {
            switch self {
            case let .identical(tables, seconds): return ["outcome": "identical", "tables": "\(tables)", "seconds": String(format: "%.1f", seconds)]
            case let .differs(lines): return ["outcome": "differs", "differences": lines.prefix(50).joined(separator: "; ")]
            case let .notRun(why): return ["outcome": "not-run", "reason": why]
            }
        }
    }

    /// Exports a snapshot of every database of the new server; called by start-stack before the
    /// application starts. Failing here only means no recheck: the window's verification stands.
    static func hold(_ world: PgUpgradeWorld) async throws {
        let parameters = try await world.serverConnection()
        let names = try await Blocking.run { () throws -> [String] in try Fingerprinter.databaseNames(Connection(parameters)) }
        var holders: [String: ExportedSnapshot] = [:]
        for name in names {
            holders[name] = try await Blocking.run { () throws -> ExportedSnapshot in try ExportedSnapshot(parameters.with(database: name)) }
        }
        let previous = held.withLock { $0.updateValue(holders, forKey: world.context.runID.rawValue) }
        previous?.values.forEach { $0.release() }
    }

    /// Ends the held transactions of `runID` (no-op when none): after the recheck, or when it does not run.
    public static func release(_ runID: RunID) {
        let holders = held.withLock { $0.removeValue(forKey: runID.rawValue) }
        holders?.values.forEach { $0.release() }
    }

    /// Whether start-stack held snapshots for `runID`.
    public static func isHeld(_ runID: RunID) -> Bool { held.withLock { $0[runID.rawValue] != nil } }

    /// Reads every table of the new cluster inside the held snapshots and compares with the old cluster's
    /// fingerprint; saves `fingerprint-recheck.json`. Releases the snapshots.
    public static func run(_ world: PgUpgradeWorld, progress: @escaping @Sendable (String) -> Void = { _ in }) async -> Outcome {
        let runID = world.context.runID
        defer { release(runID) }
        guard let holders = held.withLock({ $0[runID.rawValue] }), !holders.isEmpty else {
            return .notRun("no snapshot was held at the end of the window")
        }
        let start = ContinuousClock.now
        do {
            let parameters = try await world.serverConnection()
            let before = try FingerprintFile.load(FingerprintStep.path(world.runFolder, .before))
            // Every database must have its snapshot; one created since the window cannot be compared.
            let snapshots = holders.mapValues(\.id)
            progress("re-comparing every table in full with the old cluster (the application runs; nothing changes)")
            let after = try await Fingerprinter.captureAsync(parameters, snapshots: snapshots)
            try? FingerprintFile.save(after, to: path(world.runFolder))
            let differences = tablesOnly(before).diff(against: tablesOnly(after))
            guard differences.isEmpty else { return .differs(differences) }
            let tables = after.databases.reduce(0) { $0 + $1.tables.count }
            return .identical(tables: tables, seconds: (ContinuousClock.now - start) / .seconds(1))
        } catch {
            return .notRun(world.redactor.redact("\(error)"))
        }
    }

    /// The recheck's fingerprint of the new cluster.
    public static func path(_ folder: RunFolder) -> String { folder.path + "/fingerprint-recheck.json" }

    /// Databases, locale, extensions and tables; no roles or sequences (they move outside a snapshot).
    static func tablesOnly(_ fingerprint: Fingerprint) -> Fingerprint {
        var copy = fingerprint
        copy.roles = []
        copy.databases = copy.databases.map { database in
            var database = database
            database.sequences = []
            return database
        }
        return copy
    }
}
