import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Before the window, the end of the pg_upgrade method's `logical` branch: the copy promoted at the slots'
/// start (`PromoteAtSlotsStep`) has been upgraded with `pg_upgrade --link` by the `stage-*` steps; now it
/// follows the serving cluster from exactly there, so that the window is the dump method's `subscribed`
/// branch — catch up, compare what changed, rename into place — with no pg_upgrade inside the downtime.
///
/// The copy is deleted first (its files live on, linked, in the upgraded cluster). A one-off server of the
/// target image runs update_extensions.sql and analyze; then the replica (`SubscriberServer`) subscribes
/// with the slots created before the copy was promoted (nothing copied, its origin advanced to their start),
/// and is fingerprinted and compared with the snapshot where nothing was written, like `stage-subscriber`.
struct SubscribeUpgradedCopyStep: PlanStep {
    var staging: StagedUpgrade

    static let id = "stage-subscribe-upgraded"

    func planned() throws -> PlannedStep {
        let world = staging.world
        let subscriber = SubscriberServer(world: world)
        return PlannedStep(
            id: Self.id,
            title: "Before the window: start PostgreSQL \(world.context.options.targetMajor) on the upgraded copy \(staging.upgrade.newRelative), update extensions, analyze, and let it follow \(world.service) from where the copy ends (logical replication)",
            kind: "pg.stage-subscribe-upgraded",
            commands: PlannedStep.render([StagedServer(world: world).runCommand, subscriber.runCommand(container: "<\(world.service) container>", owner: "<data owner>")], redactor: world.redactor),
            mutates: true, compensation: try SubscriberCompensator.spec(world: world),
            notes: [
                "subscriptions use the slots created before the copy was promoted: nothing is copied again",
                "the replica listens on port \(SubscriberServer.port) of the \(world.service) container's network namespace",
            ])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = staging.world
        let runID = world.context.runID
        let start = try LogicalStart.load(world.runFolder)
        let server = try staging.onlineServer()
        let (staged, target, afterCare) = try await staging.startUpgraded(context)
        let identifier = try await StagedCluster.systemIdentifier(try await target.connection(world))
        try ReplicationTeardown.saveIdentifier(identifier, folderPath: world.runFolder.path)
        try await staged.stop()

        let subscriber = SubscriberServer(world: world)
        try await subscriber.start(container: try await DumpClusterStep(world: world).container(), context: context)
        let replica = try await subscriber.connection()
        let followed = start.sources.databases.filter { !$0.isEmpty }
        for database in followed {
            guard let slot = start.slots[database.name] else { throw UpshiftError("internal: no slot for \(database.name) in \(LogicalStart.path(world.runFolder))") }
            let statements = [ReplicationTeardown.quiet, ReplicationTeardown.subscriptionStatement(database, runID: runID, slot: slot, superuser: world.database.superuser, existingSlot: true)]
                + ReplicationTeardown.startAtSlotStatements(runID: runID, lsn: start.lsn)
            let target = replica.with(database: database.name)
            context.progress("subscribing \(database.name) from \(start.lsn) (slot \(slot))")
            try await Blocking.run { () throws in
                let conn = try Connection(target)
                for sql in statements { _ = try conn.execute(sql) }
            }
        }
        let subscribing = StageSubscriberStep(world: world)
        try await subscribing.waitCopied(subscriber, replica: replica, databases: followed.map(\.name), context: context)
        let databases = start.sources.databases.map(\.name)
        let (activity, fingerprint) = try await subscribing.fingerprintReplica(replica, databases: databases, context: context)
        try await subscribing.checkAgainstSnapshot(fingerprint, server: server)
        try FingerprintFile.save(fingerprint, to: SubscriberServer.fingerprintPath(world.runFolder))
        try SubscriberRecord(
            container: subscriber.name, sources: start.sources, slots: start.slots, schemaDigests: start.schemaDigests,
            catalogDigests: start.catalogDigests, insertOnlyCounters: start.insertOnlyCounters, activity: activity
        ).write(world.runFolder)
        return StepOutcome(summary: "the upgraded copy (\(afterCare)) follows \(followed.count) database(s) from \(start.lsn), and equals the snapshot where nothing was written: \(FingerprintFile.describe(fingerprint))")
    }
}
