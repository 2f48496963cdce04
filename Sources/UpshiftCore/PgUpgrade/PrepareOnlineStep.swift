import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Before the window: while the application still serves, export one snapshot per database and
/// read the cluster from it — `pg_dump --snapshot` per database (when the method needs a dump) and the
/// fingerprint — so that neither has to run inside the downtime.
///
/// Nothing of the deployment changes here. Whether the result may stand in for a dump and fingerprint
/// taken after the application stopped is decided inside the window by `CheckSnapshotStep`: only when no
/// transaction the snapshot cannot see has committed (and no sequence moved). Otherwise the window dumps
/// and fingerprints as if this step had not run.
///
/// A failure here fails the run before any downtime: the application was never stopped, nothing changed.
struct PrepareOnlineStep: PlanStep {
    var world: PgUpgradeWorld

    /// Whether this run prepares online: preflight reached the server, the option allows it, and the
    /// method compares fingerprints (the invoke method verifies through InvenTree's own export).
    static func applies(_ world: PgUpgradeWorld) -> Bool {
        world.context.onlineAddress != nil && world.context.options.prepareOnlineEnabled && world.context.options.method != .invoke
    }

    /// The method needs a dump: the dump method always, pg_upgrade only for link/swap (the rebuild source).
    static func dumps(_ world: PgUpgradeWorld) -> Bool {
        world.context.options.method == .dump || (world.context.options.method == .pgUpgrade && world.context.options.mode.destroysOldCluster)
    }

    func planned() throws -> PlannedStep {
        let what = Self.dumps(world) ? "dump every database (pg_dump --snapshot) and fingerprint it" : "fingerprint every database"
        let notes = [
            "vacuumdb --all --analyze-only first, so that autovacuum has no statistics to write while the snapshot is in use",
            "libpq to \(world.context.onlineAddress ?? "?"):5432 (the container's address) as \(world.database.superuser); reads the old cluster only",
            "used inside the window only if no transaction committed after the snapshot; otherwise the window dumps and fingerprints again",
        ]
        return PlannedStep(
            id: "prepare-online",
            title: "While the application still serves: \(what) from one snapshot per database",
            kind: "pg.prepare-online", mutates: true, compensation: HelperContainersCompensator.spec(runID: world.context.runID), notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        guard let parameters = world.context.onlineConnection() else {
            throw UpshiftError("no address to reach \(world.service) before the window")
        }
        let databases = try await PsqlRunner(compose: world.compose, database: world.database).databases()
        // Statistics first: an autovacuum ANALYZE that fires while the snapshot is in use commits a
        // transaction, which the window cannot tell from a write and answers with a second dump. Analyzing
        // now leaves autovacuum nothing to analyze (statistics are never part of a dump or fingerprint).
        context.progress("vacuumdb --all --analyze-only (before the snapshot)")
        let analyze = world.compose.execCommand(
            world.service, ["vacuumdb", "-U", world.database.superuser, "--all", "--analyze-only", "--jobs", String(max(1, world.context.jobs))],
            environment: world.database.passwordEnvironment, timeout: .seconds(6 * 3600))
        let analyzed = try await world.runner.run(analyze, stdout: .discard, onLine: nil)
        guard analyzed.termination.isSuccess else {
            throw UpshiftError("vacuumdb --analyze-only on the running server failed: \(world.redactor.redact(String(analyzed.stderrText.suffix(600))))")
        }
        // Before the snapshot: a write counted here is in the snapshot; one counted later makes its table
        // "changed" for the window (`ClusterActivity`), whichever side of the snapshot it committed on.
        let activity = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(parameters) }
        context.progress("exporting a snapshot of \(databases.count) database(s)")
        let exported = try await Blocking.run { () throws in try ExportedSnapshot.exportEach(parameters, databases: databases) }
        defer { exported.forEach { $0.snapshot.release() } }
        let snapshots = Dictionary(exported.map { ($0.database, $0.snapshot.id) }, uniquingKeysWith: { a, _ in a })
        guard let first = exported.first?.snapshot else { throw UpshiftError("the old cluster lists no database to dump") }
        // Sequences are read outside any snapshot (by pg_dump as by the fingerprint): note them before
        // anything reads them. Equal again at the window means they did not move in between, since
        // nextval only counts up.
        let sequencesAtSnapshot = try await Blocking.run { () throws -> [String: [SequenceFingerprint]] in try Fingerprinter.sequences(parameters) }

        let dir = DumpClusterStep.directory(world)
        var files: [DumpManifest.File] = []
        var globals: DumpManifest.File?
        if Self.dumps(world) {
            try DumpClusterStep.createDirectory(world)
            do {
                let dumper = DumpClusterStep(world: world)
                files = try await dumper.dumpDatabases(databases, into: dir, snapshots: snapshots, context: context)
                // Roles and tablespaces have no snapshot to read from, but changing them needs a transaction
                // id: read after the snapshots, they are current exactly when the window's check finds no
                // transaction since the first snapshot — the same condition the database dumps stand on.
                globals = try await dumper.dumpGlobals(into: dir, context: context)
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw error
            }
        }
        let fingerprint = try await Fingerprinter.captureAsync(parameters, snapshots: snapshots) { db, table, position, count in context.report("checksum \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items)) }
        guard Set(fingerprint.databases.map(\.name)) == Set(databases) else {
            throw UpshiftError("the list of databases changed while they were dumped; run again")
        }
        try FingerprintFile.save(fingerprint, to: OnlinePreparation.fingerprintPath(world.runFolder))
        let preparation = OnlinePreparation(visibility: first.visibility, snapshots: snapshots, sequences: sequencesAtSnapshot, dumpFiles: files, globals: globals, verdict: nil, activity: activity)
        try preparation.write(world.runFolder)

        let rows = fingerprint.databases.reduce(0) { $0 + $1.totalRows }
        let bytes = files.reduce(Int64(0)) { $0 + $1.bytes }
        let dumped = files.isEmpty ? "" : ", dumped \(ByteFormat.string(bytes)) to \(dir)"
        return StepOutcome(summary: "snapshot \(first.visibility): \(databases.count) databases, \(rows) rows fingerprinted\(dumped)")
    }
}

/// What `PrepareOnlineStep` left for the window (`online.json` in the run folder): the snapshot, the dump
/// files taken from it, and — once the window has checked — whether they still describe the database.
struct OnlinePreparation: Sendable, Hashable, Codable {
    /// The first exported snapshot's visibility (`xmin:xmax:xip`). Every later snapshot sees at least as
    /// much, so a transaction it cannot see covers the later ones too.
    var visibility: String
    /// Database name -> exported snapshot id (for the record; they expire with the step).
    var snapshots: [String: String]
    /// Every database's sequences, read right after the snapshots and before the dump.
    var sequences: [String: [SequenceFingerprint]]
    /// The per-database dump files, without globals; empty when the method needs no dump.
    var dumpFiles: [DumpManifest.File]
    /// `globals.sql`, read after the snapshots; `nil` when the method needs no dump.
    var globals: DumpManifest.File?
    /// Set by the window's fingerprint step.
    var verdict: Verdict?
    /// Every table's write counters, relation file and columns, read just before the snapshot: which tables
    /// the window must fingerprint again (`ClusterActivity.unchangedTables`). Absent in runs before it existed.
    var activity: ClusterActivity?

    struct Verdict: Sendable, Hashable, Codable {
        var isCurrent: Bool
        var reason: String
    }

    static func path(_ folder: RunFolder) -> String { folder.path + "/online.json" }
    static func fingerprintPath(_ folder: RunFolder) -> String { folder.path + "/fingerprint-online.json" }

    static func load(_ folder: RunFolder) throws -> OnlinePreparation? { try load(folderPath: folder.path) }

    static func load(folderPath: String) throws -> OnlinePreparation? {
        guard let data = FileManager.default.contents(atPath: folderPath + "/online.json") else { return nil }
        return try JSONDecoder().decode(OnlinePreparation.self, from: data)
    }

    func write(_ folder: RunFolder) throws {
        try PrivateJSON.write(self, to: Self.path(folder))
    }

    /// Inside the window, with the application stopped: does the online snapshot still show the whole
    /// cluster? Yes only if every transaction it cannot see has aborted, and every sequence (which moves
    /// without a transaction) still has the value the online fingerprint read.
    static func check(_ preparation: OnlinePreparation, online: Fingerprint, parameters: ConnectionParameters) async throws -> Verdict {
        let visibility = preparation.visibility
        let commits = try await Blocking.run { () throws -> CommitsSinceSnapshot? in
            try CommitsSinceSnapshot.read(try Connection(parameters), visibility: visibility)
        }
        guard let commits else {
            return Verdict(isCurrent: false, reason: "more than \(CommitsSinceSnapshot.limit) transactions since the snapshot")
        }
        guard commits.isCurrent else {
            return Verdict(isCurrent: false, reason: "\(commits.committed) transaction(s) committed and \(commits.unresolved) unresolved since the snapshot (of \(commits.examined) examined)")
        }
        // Equal before the dump, in the online fingerprint and now: no sequence moved while the dump and the
        // fingerprint read them, nor since.
        let sequences = try await Blocking.run { () throws -> [String: [SequenceFingerprint]] in try Fingerprinter.sequences(parameters) }
        let fingerprinted = Dictionary(uniqueKeysWithValues: online.databases.map { ($0.name, $0.sequences) })
        guard sequences == preparation.sequences, fingerprinted == preparation.sequences else {
            return Verdict(isCurrent: false, reason: "a sequence moved since the snapshot")
        }
        let transactions = commits.examined == 0 ? "no transaction since the snapshot" : "\(commits.examined) transaction(s) since the snapshot, all aborted"
        return Verdict(isCurrent: true, reason: transactions + ", sequences unchanged")
    }

    /// Before the window, while the application serves: why work prepared from the snapshot would be
    /// thrown away in the window (the application has written since), or nil while it still stands. The
    /// staging steps ask first, so that a writing application costs no staged cluster (time, disk) that the
    /// window's `check-snapshot` could only discard.
    static func outdated(_ world: PgUpgradeWorld) async throws -> String? {
        guard let preparation = try load(world.runFolder), let server = world.context.onlineConnection() else { return nil }
        let online = try FingerprintFile.load(fingerprintPath(world.runFolder))
        let verdict = try await check(preparation, online: online, parameters: server)
        return verdict.isCurrent ? nil : verdict.reason
    }

    /// Finds the old server's container address and logs in there, so preflight can tell whether the run
    /// can prepare online. Returns the address, or why not.
    static func probe(compose: ComposeOperations, runner: any CommandRunning, database: DatabaseService) async -> (address: String?, reason: String?) {
        do {
            guard let state = try await ContainerState.read(service: database.service, compose: compose, runner: runner), state.status == "running" else {
                return (nil, "the \(database.service) container is not running")
            }
            let addresses = state.addresses
            guard !addresses.isEmpty else {
                return (nil, "the \(database.service) container has no network address")
            }
            var lastError = ""
            for address in addresses {
                let parameters = database.superuserConnection(host: address, port: 5432, connectTimeout: 3)
                do {
                    _ = try await Blocking.run { () throws -> Int in try Connection(parameters).serverMajor }
                    return (address, nil)
                } catch {
                    lastError = "\(error)"
                }
            }
            return (nil, "cannot log in at the container's address from this host (\(lastError))")
        } catch {
            return (nil, "\(error)")
        }
    }
}
