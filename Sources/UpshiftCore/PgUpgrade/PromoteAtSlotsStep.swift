import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Before the window, for the pg_upgrade method when the application writes and logical replication can
/// follow it (`StagedUpgrade`'s `logical` branch): turns the standby into a cluster of its own that ends
/// exactly where the run's logical slots begin, so that the copy can be upgraded before the window and then
/// catch up by logical replication (`SubscribeUpgradedCopyStep`) — `pg_createsubscriber`'s procedure, on
/// upshift's private copy.
///
/// 1. The schema and catalog digests and the insert-only tables' counters are read first: whatever changes
///    after them shows in the window, which then does the work (`SubscriberCatchUp`).
/// 2. A physical slot keeps the serving cluster's WAL from its latest checkpoint on; the standby replays past
///    that checkpoint and stops (its restart point is then covered by the slot).
/// 3. The run's publications, then one logical slot per database; the last slot's consistent point is L.
/// 4. The standby starts again with `recovery_target_lsn = L`, not inclusive: it replays every record before
///    L and none from L, which is exactly what the slots will not send, and promotes. Its replay must end at L.
/// 5. The publications (replayed into the copy) are dropped there, the physical slot on the serving cluster;
///    the copy is shut down cleanly for pg_upgrade.
struct PromoteAtSlotsStep: PlanStep {
    var staging: StagedUpgrade

    static let id = "stage-promote-at-slots"

    func planned() throws -> PlannedStep {
        let world = staging.world
        let standby = StandbyServer(world: world, upgrade: staging.upgrade)
        return PlannedStep(
            id: Self.id,
            title: "Before the window: create this run's publications and replication slots on \(world.service), replay the standby exactly up to where the slots begin, promote it and shut it down",
            kind: "pg.stage-promote-at-slots",
            commands: PlannedStep.render([standby.runCommand(container: "<\(world.service) container>", stopBefore: "<where-the-slots-begin>")], redactor: world.redactor),
            mutates: true, compensation: try SubscriberCompensator.spec(world: world),
            notes: [
                "on your server: publication \(SubscriberServer.objectName(world.context.runID)), one logical slot per database and, until the standby has promoted, physical slot \(ReplicationTeardown.standbySlotName(world.context.runID)); dropped in the window (or by the undo)",
                "the standby stops before the record at the slots' start: what it replayed and what the slots send never overlap",
            ])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = staging.world
        let runID = world.context.runID
        let server = try staging.onlineServer()
        let databases = try await PsqlRunner(compose: world.compose, database: world.database).databases()
        let sources: LogicalSources
        switch try await Blocking.run({ () throws -> LogicalSources.Assessment in try LogicalSources.read(server, databases: databases) }) {
        case .obstacle(let why): throw UpshiftError("logical replication can no longer follow \(world.service) (\(why)); nothing of your deployment changed, the run is undone: run it again")
        case .ready(let ready): sources = ready
        }
        let catalogs = try await SubscriberCatchUp.catalogDigests(server, databases: databases)
        let digests = try await SchemaCopy(world: world).digests(databases)
        let counters = try await Blocking.run { () throws -> [String: [String: String]] in try LogicalSources.insertOnlyCounters(server, sources) }

        let followed = sources.databases.filter { !$0.isEmpty }
        guard !followed.isEmpty else {
            throw UpshiftError("no table of \(world.service) can be published any more; nothing of your deployment changed, the run is undone: run it again")
        }
        let standby = StandbyServer(world: world, upgrade: staging.upgrade)
        let physical = ReplicationTeardown.standbySlotName(runID)
        let checkpoint = try await Blocking.run { () throws -> String in
            let conn = try Connection(server)
            _ = try conn.execute(ReplicationTeardown.quiet)
            _ = try conn.query("SELECT pg_create_physical_replication_slot(\(ReplicationTeardown.literal(physical)), true)")
            return try conn.query("SELECT checkpoint_lsn::text AS lsn FROM pg_control_checkpoint()").single().requiredString("lsn")
        }
        context.progress("waiting for the standby to replay the serving cluster's checkpoint at \(checkpoint)")
        _ = try await standby.waitReplayed(past: checkpoint, deadline: world.readyDeadline)
        try await standby.pause()

        var slots: [String: String] = [:]
        var start = ""
        for (index, database) in followed.enumerated() {
            let slot = SubscriberServer.slotName(runID, index: index + 1)
            let statements = ReplicationTeardown.publicationStatements(database, runID: runID)
            let target = server.with(database: database.name)
            context.progress("publishing \(database.name) (slot \(slot))")
            start = try await Blocking.run { () throws -> String in
                let conn = try Connection(target)
                _ = try conn.execute(ReplicationTeardown.quiet)
                for sql in statements { _ = try conn.execute(sql) }
                return try conn.query("SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot(\(ReplicationTeardown.literal(slot)), 'pgoutput')").single().requiredString("lsn")
            }
            slots[database.name] = slot
        }
        // A commit after the last slot's start, so that the standby reaches its stop even if nothing else
        // writes; the slots send it, and it changes no table.
        try await Blocking.run { () throws in _ = try Connection(server).query("SELECT txid_current()") }

        let container = try await DumpClusterStep(world: world).container()
        let replayed = try await standby.replayAndPromote(container: container, before: start, context: context)
        guard replayed == start else {
            throw UpshiftError("the standby's replay ended at \(replayed), not at the replication slots' start \(start): the copy and the slots would not meet exactly; the run is undone")
        }
        for database in followed {
            _ = try await standby.query(ReplicationTeardown.quiet + "; " + ReplicationTeardown.dropPublicationsSQL(runID: runID), database: database.name)
        }
        try await Blocking.run { () throws in
            _ = try Connection(server).query("SELECT pg_drop_replication_slot(\(ReplicationTeardown.literal(physical)))")
        }
        try await standby.stop()
        try LogicalStart(lsn: start, sources: sources, slots: slots, schemaDigests: digests, catalogDigests: catalogs, insertOnlyCounters: counters).write(world.runFolder)
        try? FileManager.default.removeItem(atPath: StandbyServer.path(world.runFolder))
        return StepOutcome(summary: "slots for \(followed.count) database(s) begin at \(start); the standby replayed exactly up to there, promoted and shut down cleanly")
    }
}

/// What `PromoteAtSlotsStep` leaves for `SubscribeUpgradedCopyStep` (`logical-start.json`): where the
/// copy ends and the slots begin, and what the window's checks compare with.
struct LogicalStart: Sendable, Hashable, Codable {
    var lsn: String
    var sources: LogicalSources
    var slots: [String: String]
    var schemaDigests: [String: String]
    var catalogDigests: [String: String]
    var insertOnlyCounters: [String: [String: String]]

    static func path(_ folder: RunFolder) -> String { folder.path + "/logical-start.json" }

    static func load(_ folder: RunFolder) throws -> LogicalStart {
        guard let data = FileManager.default.contents(atPath: path(folder)) else {
            throw UpshiftError("internal: no \(path(folder))")
        }
        return try JSONDecoder().decode(LogicalStart.self, from: data)
    }

    func write(_ folder: RunFolder) throws {
        try PrivateJSON.write(self, to: Self.path(folder))
    }
}
