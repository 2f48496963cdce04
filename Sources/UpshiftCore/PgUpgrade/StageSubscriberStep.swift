import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Before the window, for the dump method, when the application has written since the online snapshot (so
/// the cluster restored from it could never be used): a new cluster of the target major is given the serving
/// cluster's schema and follows it by logical replication until the window (`SubscriberServer`). The window
/// then only catches up, proves it (`SubscriberCatchUp`), compares what changed and renames it into place:
/// no dump and no restore inside the downtime.
///
/// It changes the serving cluster only by what replication needs, all named after the run and removed in
/// the window or by the undo (`SubscriberCompensator`): one publication per database (two when a table has no
/// replica identity) and one replication slot per database. Where it is not safe (`LogicalSources`), it says
/// why and the window dumps and restores as without it.
struct StageSubscriberStep: PlanStep {
    var world: PgUpgradeWorld

    /// Whether the plan has this step: the dump method stages, the window's isolation keeps the db
    /// container (a recreate would cut the replica off before it caught up), and the target reports apply
    /// errors (`pg_stat_subscription_stats`, 15+).
    static func applies(_ world: PgUpgradeWorld) -> Bool {
        world.context.options.method == .dump && StagedCluster.applies(world) && world.context.isolation?.approach == .swapNetworks
            && world.context.options.targetMajor >= 15
    }

    func planned() throws -> PlannedStep {
        let subscriber = SubscriberServer(world: world)
        return PlannedStep(
            id: "stage-subscriber",
            title: "Before the window, if the application wrote since the snapshot: build a PostgreSQL \(world.context.options.targetMajor) replica at \(StagedCluster.relativePath(world)) that follows the serving cluster (logical replication)",
            kind: "pg.stage-subscriber",
            commands: PlannedStep.render([StagedServer(world: world).runCommand, subscriber.runCommand(container: "<\(world.service) container>", owner: "<data owner>")], redactor: world.redactor),
            mutates: true, compensation: try SubscriberCompensator.spec(world: world),
            notes: [
                "only when wal_level is already logical, slots and WAL senders are free, and no table is unlogged or partitioned and no large object exists; otherwise the window dumps and restores",
                "on your server: publication \(SubscriberServer.objectName(world.context.runID)) and one replication slot per database, dropped in the window (or by the undo)",
                "the replica listens on port \(SubscriberServer.port) of the \(world.service) container's network namespace (your users and passwords, copied by the globals)",
            ])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        if try StagedCluster.load(world.runFolder) != nil {
            return StepOutcome(summary: "not needed: the cluster restored from the snapshot is ready")
        }
        guard let written = try await OnlinePreparation.outdated(world) else {
            return StepOutcome(summary: "not needed: nothing was written since the snapshot")
        }
        guard let server = world.context.onlineConnection(), let online = try OnlinePreparation.load(world.runFolder), let globals = online.globals else {
            throw UpshiftError("internal: stage-subscriber without the online preparation in \(world.runFolder.path)")
        }
        let databases = try await PsqlRunner(compose: world.compose, database: world.database).databases()
        let sources: LogicalSources
        switch try await Blocking.run({ () throws -> LogicalSources.Assessment in try LogicalSources.read(server, databases: databases) }) {
        case .obstacle(let why): return StepOutcome(summary: "not used (\(why)): the window dumps and restores")
        case .ready(let ready): sources = ready
        }
        context.progress("the application wrote since the snapshot (\(written)): building a replica that follows it")
        let replica = try await build(sources: sources, globals: globals, server: server, context: context)
        let followed = sources.databases.filter { !$0.isEmpty }
        let tables = followed.reduce(0) { $0 + $1.replicated.count + $1.insertOnly.count }
        let insertOnly = followed.reduce(0) { $0 + $1.insertOnly.count }
        let note = insertOnly == 0 ? "" : " (\(insertOnly) without a replica identity, for inserts only)"
        return StepOutcome(summary: "a PostgreSQL \(world.context.options.targetMajor) replica follows \(followed.count) database(s), \(tables) tables\(note), and equals the snapshot where nothing was written: \(FingerprintFile.describe(replica))")
    }

    /// Schema, publications, subscriptions, the first copy of every table, analyze, fingerprint, and the
    /// check against the snapshot. Returns the replica's fingerprint.
    func build(sources: LogicalSources, globals: DumpManifest.File, server: ConnectionParameters, context: StepContext) async throws -> Fingerprint {
        let schema = SchemaCopy(world: world)
        let databases = sources.databases.map(\.name)
        // The digests before the schema copy, never after: DDL in between then shows as a change in the
        // window (safe), where the other order would hide it from both digests.
        let catalogs = try await SubscriberCatchUp.catalogDigests(server, databases: databases)
        let digests = try await schema.digests(databases)
        let files = try await schema.dump(databases, into: schema.directory, context: context)
        let dumpDirectory = DumpClusterStep.directory(world)
        try? FileManager.default.removeItem(atPath: schema.directory + "/" + globals.name)
        try FileManager.default.copyItem(atPath: dumpDirectory + "/" + globals.name, toPath: schema.directory + "/" + globals.name)
        let manifest = DumpManifest(oldMajor: world.context.oldMajor, superuser: world.database.superuser, files: [globals] + files)

        // The new cluster, initialised by the service's own entrypoint (its settings, users, init mask),
        // given the schema, and shut down; then started again in the db container's network namespace.
        let staged = StagedServer(world: world)
        let target = try await staged.start(context)
        _ = try await RestoreDumpStep(world: world, target: target).restoreVerified(manifest, in: schema.directory, context: context)
        let identifier = try await StagedCluster.systemIdentifier(try await target.connection(world))
        try ReplicationTeardown.saveIdentifier(identifier, folderPath: world.runFolder.path)
        try await staged.stop()

        let runID = world.context.runID
        let counters = try await Blocking.run { () throws -> [String: [String: String]] in try LogicalSources.insertOnlyCounters(server, sources) }
        let followed = sources.databases.filter { !$0.isEmpty }
        for database in followed {
            let statements = ReplicationTeardown.publicationStatements(database, runID: runID)
            let target = server.with(database: database.name)
            try await Blocking.run { () throws in
                let conn = try Connection(target)
                for sql in statements { _ = try conn.execute(sql) }
            }
        }
        let subscriber = SubscriberServer(world: world)
        try await subscriber.start(container: try await DumpClusterStep(world: world).container(), context: context)
        // Looked up once: the address does not change before the window, and each lookup is a compose call.
        let replica = try await subscriber.connection()
        var slots: [String: String] = [:]
        for (index, database) in followed.enumerated() {
            let slot = SubscriberServer.slotName(runID, index: index + 1)
            let sql = ReplicationTeardown.subscriptionStatement(database, runID: runID, slot: slot, superuser: world.database.superuser)
            let target = replica.with(database: database.name)
            context.progress("subscribing \(database.name) (slot \(slot))")
            try await Blocking.run { () throws in
                let conn = try Connection(target)
                _ = try conn.execute(ReplicationTeardown.quiet)
                _ = try conn.execute(sql)
            }
            slots[database.name] = slot
        }
        try await waitCopied(subscriber, replica: replica, databases: followed.map(\.name), context: context)
        for database in databases {
            let target = replica.with(database: database)
            try await Blocking.run { () throws in _ = try Connection(target).execute("ANALYZE") }
        }

        let (activity, fingerprint) = try await fingerprintReplica(replica, databases: databases, context: context)
        try await checkAgainstSnapshot(fingerprint, server: server)
        try FingerprintFile.save(fingerprint, to: SubscriberServer.fingerprintPath(world.runFolder))
        try SubscriberRecord(container: subscriber.name, sources: sources, slots: slots, schemaDigests: digests, catalogDigests: catalogs, insertOnlyCounters: counters, activity: activity).write(world.runFolder)
        return fingerprint
    }

    /// The replica's fingerprint from one snapshot per database, with the activity read just before: the
    /// window scans again only the tables replication wrote to since.
    func fingerprintReplica(_ replica: ConnectionParameters, databases: [String], context: StepContext) async throws -> (ClusterActivity, Fingerprint) {
        let activity = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(replica) }
        let exported = try await Blocking.run { () throws in try ExportedSnapshot.exportEach(replica, databases: databases) }
        defer { exported.forEach { $0.snapshot.release() } }
        let snapshots = Dictionary(exported.map { ($0.database, $0.snapshot.id) }, uniquingKeysWith: { a, _ in a })
        let fingerprint = try await Fingerprinter.captureAsync(replica, snapshots: snapshots) { db, table, position, count in
            context.report("checksum (replica) \(db).\(table)", ProgressMeasure(done: Int64(position), total: Int64(count), unit: .items))
        }
        exported.forEach { $0.snapshot.release() }
        return (activity, fingerprint)
    }

    /// Waits until every table of every subscription is copied and streaming (`srsubstate = 'r'`).
    func waitCopied(_ subscriber: SubscriberServer, replica: ConnectionParameters, databases: [String], context: StepContext) async throws {
        let deadline = ContinuousClock.now + .seconds(6 * 3600)
        while true {
            try await subscriber.requireRunning()
            var done = 0, total = 0
            for name in databases {
                let target = replica.with(database: name)
                let row = try await Blocking.run { () throws -> (Int, Int) in
                    let r = try Connection(target).query("SELECT count(*) FILTER (WHERE srsubstate = 'r') AS done, count(*) AS total FROM pg_subscription_rel").single()
                    return (try r.int("done"), try r.int("total"))
                }
                done += row.0
                total += row.1
            }
            context.report("copying tables into the replica", ProgressMeasure(done: Int64(done), total: Int64(total), unit: .items))
            if done == total { return }
            // A copy that fails is retried for ever by the server: stop at the first error instead.
            let errors = try await SubscriberServer.errorCount(replica)
            guard errors == 0 else {
                let log = try? await world.runner.run(Command("docker", ["logs", "--tail", "15", subscriber.name], timeout: .seconds(30)))
                let tail = world.redactor.redact((log?.stderrText ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
                throw UpshiftError("the replica failed to copy or apply \(errors) time(s); nothing of your deployment changed. Its last log lines:\n" + tail)
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the replica copied \(done) of \(total) tables within 6 hours")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Every table the application did not write since the snapshot (its activity then and now agree) must
    /// be equal on the replica: a copy that lost or gained rows is found here, before the window, and the
    /// run stops with nothing of the deployment changed.
    ///
    /// A session's write counters reach the shared statistics up to 10 s after its commit (sooner when it
    /// ends), so a table written just before the replica's snapshot can still look unchanged: differing
    /// tables are read again until their counters move or 12 s have passed.
    func checkAgainstSnapshot(_ replica: Fingerprint, server: ConnectionParameters) async throws {
        guard let online = try OnlinePreparation.load(world.runFolder), let then = online.activity else { return }
        let snapshot = try FingerprintFile.load(OnlinePreparation.fingerprintPath(world.runFolder))
        let deadline = ContinuousClock.now + .seconds(12)
        while true {
            let now = try await Blocking.run { () throws -> ClusterActivity in try ClusterActivity.read(server) }
            let differences = Self.differences(snapshot: snapshot, replica: replica, unchanged: now.unchangedTables(since: then))
            if differences.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the replica differs from the snapshot in tables nobody wrote to since:\n  " + differences.prefix(20).joined(separator: "\n  "))
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Tables unchanged since the snapshot whose rows or checksum differ on the replica.
    static func differences(snapshot: Fingerprint, replica: Fingerprint, unchanged: [String: Set<String>]) -> [String] {
        var out: [String] = []
        let copied = replica.tables(keeping: unchanged)
        for (database, tables) in snapshot.tables(keeping: unchanged).sorted(by: { $0.key < $1.key }) {
            for (name, expected) in tables.sorted(by: { $0.key < $1.key }) {
                guard let found = copied[database]?[name] else {
                    out.append("database \(database): table \(name): missing on the replica")
                    continue
                }
                if found.rowCount != expected.rowCount || found.checksum != expected.checksum {
                    out.append("database \(database): table \(name): \(expected.rowCount) rows in the snapshot, \(found.rowCount) on the replica (or other content)")
                }
            }
        }
        return out
    }
}
