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
///
/// The recreate makes the server reachable before the snapshots can be exported, so a client that is not one
/// of the stopped services (a job runner of another stack, a script) may already have written. start-stack
/// therefore notes, while the server is still isolated, the first transaction id not yet assigned and every
/// table's write counters (`WindowEnd`); a server the branch started from the user's files was reachable
/// from its start, so its `WindowEnd` is read on the replica before the window ends (`saveWindowEnd`). A table that differs is left out of the verdict, and named, when it
/// holds rows written at or after that id or its counters rose since: those are writes after the window.
public enum FullRecheck {
    /// Snapshots held for a run between start-stack and the recheck (one process: the run's own).
    private static let held = Mutex<[String: Held]>([:])

    /// What start-stack keeps for the recheck.
    struct Held: Sendable {
        var snapshots: [String: ExportedSnapshot]
        var windowEnd: WindowEnd
    }

    /// The new server's state when the window ended, read while nothing else could reach it.
    struct WindowEnd: Sendable, Hashable, Codable {
        /// `LaterWrites.horizon`: rows with this id or a later one were written after the window.
        var horizon: String
        var activity: ClusterActivity
    }

    /// What the recheck found.
    public enum Outcome: Sendable, Equatable {
        /// Every table equal: `tables` compared, in `seconds`; `later` (database.table) differed only by
        /// writes made after the window, and were left out.
        case identical(tables: Int, seconds: Double, later: [String])
        /// Differences (human-readable lines).
        case differs([String])
        /// The recheck could not run (why): nothing is known beyond the window's own verification.
        case notRun(String)

        /// The audit record's fields (`verify.recheck`).
        public var auditFields: [String: String] {
            switch self {
            case let .identical(tables, seconds, later):
                var fields = ["outcome": "identical", "tables": "\(tables)", "seconds": String(format: "%.1f", seconds)]
                if !later.isEmpty { fields["written-after-window"] = later.prefix(50).joined(separator: ", ") }
                return fields
            case let .differs(lines): return ["outcome": "differs", "differences": lines.prefix(50).joined(separator: "; ")]
            case let .notRun(why): return ["outcome": "not-run", "reason": why]
            }
        }
    }

    /// Reads the new server's `WindowEnd`; called by start-stack before the recreate, while the server is
    /// still isolated.
    static func windowEnd(_ world: PgUpgradeWorld) async throws -> WindowEnd {
        let parameters = try await world.serverConnection()
        return try await Blocking.run { () throws -> WindowEnd in
            WindowEnd(horizon: try LaterWrites.horizon(try Connection(parameters)), activity: try ClusterActivity.read(parameters))
        }
    }

    /// Saves the `WindowEnd` of the subscribed branch's replica (`activity` read by verify-replica), once it
    /// is verified and before it is shut down to take the old cluster's place: the same cluster, restarted under its new name, assigns no
    /// transaction id before a client does, and its counters survive the clean shutdown. Saved in the run
    /// folder for start-stack, because the new server then starts in its final form, reachable at once
    /// (`StartNewDatabaseStep.finalForm`). Failing here only means no recheck.
    static func saveWindowEnd(_ world: PgUpgradeWorld, replica: ConnectionParameters, activity: ClusterActivity) async throws {
        let horizon = try await Blocking.run { () throws -> String in try LaterWrites.horizon(try Connection(replica)) }
        try PrivateJSON.write(WindowEnd(horizon: horizon, activity: activity), to: windowEndPath(world.runFolder))
    }

    /// The `WindowEnd` read before the window's end (`saveWindowEnd`), if any.
    static func savedWindowEnd(_ world: PgUpgradeWorld) throws -> WindowEnd? {
        guard let data = FileManager.default.contents(atPath: windowEndPath(world.runFolder)) else { return nil }
        return try JSONDecoder().decode(WindowEnd.self, from: data)
    }

    static func windowEndPath(_ folder: RunFolder) -> String { folder.path + "/window-end.json" }

    /// Exports a snapshot of every database of the new server; called by start-stack before the
    /// application starts. Failing here only means no recheck: the window's verification stands.
    static func hold(_ world: PgUpgradeWorld, windowEnd: WindowEnd) async throws {
        let parameters = try await world.serverConnection()
        let names = try await Blocking.run { () throws -> [String] in try Fingerprinter.databaseNames(Connection(parameters)) }
        let exported = try await Blocking.run { () throws in try ExportedSnapshot.exportEach(parameters, databases: names) }
        let holders = Dictionary(exported.map { ($0.database, $0.snapshot) }, uniquingKeysWith: { a, _ in a })
        let previous = held.withLock { $0.updateValue(Held(snapshots: holders, windowEnd: windowEnd), forKey: world.context.runID.rawValue) }
        previous?.snapshots.values.forEach { $0.release() }
    }

    /// Ends the held transactions of `runID` (no-op when none): after the recheck, or when it does not run.
    public static func release(_ runID: RunID) {
        let holders = held.withLock { $0.removeValue(forKey: runID.rawValue) }
        holders?.snapshots.values.forEach { $0.release() }
    }

    /// Whether start-stack held snapshots for `runID`.
    public static func isHeld(_ runID: RunID) -> Bool { held.withLock { $0[runID.rawValue] != nil } }

    /// Reads every table of the new cluster inside the held snapshots and compares with the old cluster's
    /// fingerprint; saves `fingerprint-recheck.json`. Releases the snapshots.
    public static func run(_ world: PgUpgradeWorld, progress: @escaping @Sendable (String) -> Void = { _ in }) async -> Outcome {
        let runID = world.context.runID
        defer { release(runID) }
        guard let kept = held.withLock({ $0[runID.rawValue] }), !kept.snapshots.isEmpty else {
            return .notRun("no snapshot was held at the end of the window")
        }
        let start = ContinuousClock.now
        do {
            let parameters = try await world.serverConnection()
            let before = try FingerprintFile.load(FingerprintStep.path(world.runFolder, .before))
            // Every database must have its snapshot; one created since the window cannot be compared.
            let snapshots = kept.snapshots.mapValues(\.id)
            progress("re-comparing every table in full with the old cluster (the application runs; nothing changes)")
            let after = try await Fingerprinter.captureAsync(parameters, snapshots: snapshots)
            try? FingerprintFile.save(after, to: path(world.runFolder))
            let later = try await writtenAfterWindow(differingTables(tablesOnly(before), tablesOnly(after)), parameters: parameters, snapshots: snapshots, windowEnd: kept.windowEnd)
            let differences = leavingOut(later, tablesOnly(before)).diff(against: leavingOut(later, tablesOnly(after)))
            guard differences.isEmpty else { return .differs(differences) }
            let tables = after.databases.reduce(0) { $0 + $1.tables.count }
            let names = later.keys.sorted().flatMap { database in later[database, default: []].sorted().map { "\(database).\($0)" } }
            return .identical(tables: tables - names.count, seconds: (ContinuousClock.now - start) / .seconds(1), later: names)
        } catch {
            return .notRun(world.redactor.redact("\(error)"))
        }
    }

    /// Per database, the tables whose rows or checksum differ, or that only one side has.
    static func differingTables(_ before: Fingerprint, _ after: Fingerprint) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        let old = Dictionary(before.databases.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for database in after.databases {
            let earlier = Dictionary((old[database.name]?.tables ?? []).map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
            let now = Dictionary(database.tables.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
            let differing = Set(earlier.keys).union(now.keys).filter { name in
                guard let a = earlier[name], let b = now[name] else { return true }
                return a.rowCount != b.rowCount || a.checksum != b.checksum
            }
            if !differing.isEmpty { out[database.name] = differing }
        }
        return out
    }

    /// Of the differing tables, those written after the window: created since, rows at or after the
    /// horizon in the held snapshot, or write counters that rose on the same relation file. A counter reset
    /// lowers counters and explains nothing: every doubt stays a difference.
    static func writtenAfterWindow(_ differing: [String: Set<String>], parameters: ConnectionParameters, snapshots: [String: String], windowEnd: WindowEnd) async throws -> [String: Set<String>] {
        guard !differing.isEmpty else { return [:] }
        let now = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(parameters) }
        var out: [String: Set<String>] = [:]
        for (database, tables) in differing {
            let then = Dictionary((windowEnd.activity.tables[database] ?? []).map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
            let current = Dictionary((now.tables[database] ?? []).map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
            var explained = Set(tables.filter { then[$0] == nil && current[$0] != nil })
            explained.formUnion(tables.filter { name in
                guard let a = then[name], let b = current[name], a.filenode == b.filenode, let x = Int(a.writes), let y = Int(b.writes) else { return false }
                return y > x
            })
            let probe = tables.subtracting(explained).compactMap { name in current[name].map { (schema: $0.schema, name: $0.name) } }
            if let snapshot = snapshots[database], !probe.isEmpty {
                let target = parameters.with(database: database)
                let horizon = windowEnd.horizon
                explained.formUnion(try await Blocking.run { () throws -> Set<String> in
                    try LaterWrites.tablesWithNewerRows(target, snapshot: snapshot, horizon: horizon, tables: probe)
                })
            }
            if !explained.isEmpty { out[database] = explained }
        }
        return out
    }

    /// `fingerprint` without the named tables.
    static func leavingOut(_ tables: [String: Set<String>], _ fingerprint: Fingerprint) -> Fingerprint {
        var copy = fingerprint
        copy.databases = copy.databases.map { database in
            var database = database
            let drop = tables[database.name] ?? []
            database.tables.removeAll { drop.contains($0.qualifiedName) }
            return database
        }
        return copy
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
