import Foundation
import Testing
@testable import UpshiftCore
@testable import UpshiftPlans
import UpshiftPostgres
@testable import UpshiftSupport

/// The dump method's logical replica, without a server: when the plan has it, what it creates and drops
/// (named after the run, no password anywhere), and what counts as a schema change or a copy that differs.
struct LogicalReplicaPlanTests {
    static let runID = RunID("20261201-090000-a1b2")!

    @Test func thePlanFollowsOnlyWhereTheWindowKeepsTheContainer() throws {
        let deployment = try RecordedDeployment("inventree")
        let world = try RecordedWorlds.pgUpgrade(deployment, RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18), online: true))
        #expect(world.context.isolation?.approach == .swapNetworks)
        #expect(StageSubscriberStep.applies(world))
        let plan = try PgUpgradePlanner(world: world, environment: [:]).plan().plan
        let ids = plan.steps.map(\.id)
        #expect(ids.firstIndex(of: "stage-subscriber")! > ids.firstIndex(of: "stage-new-cluster")!)
        #expect(ids.firstIndex(of: "stage-subscriber")! < ids.firstIndex(of: "stop-app")!)
        let decision = try #require(plan.steps.first { $0.id == "check-snapshot" })
        let subscribed = try #require(decision.branches?.first { $0.name == "subscribed" })
        // No dump and no restore in that branch; the replica is verified, shut down with the old server,
        // then renamed into place.
        #expect(subscribed.steps.map(\.id) == ["verify-replica", "stop-db", "move-data-aside", "switch-image", "start-new-db", "verify", "start-stack"])

        // The pg_upgrade method, and a window that recreates the container, have no replica.
        let link = try RecordedWorlds.pgUpgrade(try RecordedDeployment("inventree"), RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18, method: .pgUpgrade, mode: .link), online: true))
        #expect(!StageSubscriberStep.applies(link))
        let offline = try RecordedWorlds.pgUpgrade(try RecordedDeployment("inventree"), RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18), online: false))
        #expect(!StageSubscriberStep.applies(offline))
        withExtendedLifetime(deployment) {}
    }

    /// The pg_upgrade method with a writing application: `decide-staging` may upgrade the copy before the
    /// window and let it follow by logical replication (`logical`), so the window's `subscribed` branch runs
    /// neither pg_upgrade nor a promotion nor a dump; without a window that keeps the container, neither exists.
    @Test func pgUpgradeUpgradesBeforeTheWindowAndFollowsLogically() throws {
        let deployment = try RecordedDeployment("inventree")
        let link = try RecordedWorlds.pgUpgrade(deployment, RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18, method: .pgUpgrade, mode: .link), online: true))
        #expect(StagedUpgrade.followsLogically(link))
        let plan = try PgUpgradePlanner(world: link, environment: [:]).plan().plan
        let staging = try #require(plan.steps.first { $0.id == "decide-staging" })
        #expect(staging.branches?.map(\.name) == ["stage", "logical", "standby", "in-window"])
        let logical = try #require(staging.branches?.first { $0.name == "logical" })
        #expect(logical.steps.map(\.id) == [
            "stage-standby", "stage-promote-at-slots", "stage-init-new-cluster", "stage-pg-upgrade-check", "stage-pg-upgrade", "stage-carry-config", "stage-subscribe-upgraded",
        ])
        // Every step before the window that changes the serving cluster drops what it created when undone.
        for step in logical.steps where ["stage-promote-at-slots", "stage-subscribe-upgraded"].contains(step.id) {
            #expect(step.compensation?.kind == SubscriberCompensator.kind, "\(step.id)")
            #expect(step.pointOfNoReturn == false)
        }
        let promote = try #require(logical.steps.first { $0.id == "stage-promote-at-slots" })
        #expect(promote.commands.first?.contains("recovery_target_lsn=<where-the-slots-begin>' -c recovery_target_inclusive=off -c recovery_target_action=promote") == true, "\(promote.commands)")
        let decision = try #require(plan.steps.first { $0.id == "check-snapshot" })
        let subscribed = try #require(decision.branches?.first { $0.name == "subscribed" })
        #expect(subscribed.steps.map(\.id) == ["verify-replica", "stop-db", "move-data-aside", "switch-image", "start-new-db", "verify", "start-stack"])
        #expect(!subscribed.steps.contains { $0.pointOfNoReturn })

        let offline = try RecordedWorlds.pgUpgrade(try RecordedDeployment("inventree"), RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18, method: .pgUpgrade, mode: .link), online: false))
        #expect(!StagedUpgrade.followsLogically(offline))
        withExtendedLifetime(deployment) {}
    }

    @Test func aSubscriptionOnAnExistingSlotCopiesNothingAndStartsWhereTheCopyEnds() {
        let database = LogicalSources.Database(name: "app", replicated: [LogicalSources.Table(schema: "public", name: "part")], insertOnly: [])
        let subscription = ReplicationTeardown.subscriptionStatement(database, runID: Self.runID, slot: "upshift_20261201_090000_a1b2_1", superuser: "postgres", existingSlot: true)
        #expect(subscription.hasSuffix("WITH (slot_name = 'upshift_20261201_090000_a1b2_1', create_slot = false, copy_data = false, enabled = false)"))
        #expect(ReplicationTeardown.startAtSlotStatements(runID: Self.runID, lsn: "0/3000148") == [
            "SELECT pg_replication_origin_advance('pg_' || oid, '0/3000148'::pg_lsn) FROM pg_subscription WHERE subname = 'upshift_20261201_090000_a1b2' AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            "ALTER SUBSCRIPTION upshift_20261201_090000_a1b2 ENABLE",
        ])
        #expect(ReplicationTeardown.standbySlotName(Self.runID) == "upshift_20261201_090000_a1b2_standby")
    }

    /// Only a cluster verified before it starts starts from the user's files (no recreate in start-stack);
    /// one still to be verified in the window starts on the private network, and so does every cluster
    /// upshift cannot reach by container address or whose extensions the window updates.
    @Test func onlyAClusterVerifiedBeforeItStartsStartsInFinalForm() throws {
        let deployment = try RecordedDeployment("inventree")
        let world = try RecordedWorlds.pgUpgrade(deployment, RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18), online: true))
        #expect(StartNewDatabaseStep.startsInFinalForm(world, on: .prepared) && StartNewDatabaseStep.startsInFinalForm(world, on: .subscribed))
        let plan = try PgUpgradePlanner(world: world, environment: [:]).plan().plan
        let decision = try #require(plan.steps.first { $0.id == "check-snapshot" })
        let step = { (branch: String, id: String) throws -> PlannedStep in
            try #require(decision.branches?.first { $0.name == branch }?.steps.first { $0.id == id }, "\(branch) \(id)")
        }
        // start-stack is part of each branch and agrees with its start-new-db: no recreate after a final start.
        for branch in ["prepared", "subscribed"] {
            let start = try step(branch, "start-new-db")
            #expect(start.notes.contains(StartNewDatabaseStep.finalFormNote), "\(branch)")
            #expect(!(start.commands.first ?? "").contains("isolate.override.yml"), "\(branch): \(start.commands)")
            let stack = try step(branch, "start-stack")
            #expect(!stack.commands.contains { $0.hasSuffix("up -d --no-deps inventree-db") }, "\(branch): \(stack.commands)")
        }
        for branch in ["snapshot", "changed"] {
            let start = try step(branch, "start-new-db")
            #expect(!start.notes.contains(StartNewDatabaseStep.finalFormNote), "\(branch)")
            #expect((start.commands.first ?? "").contains("isolate.override.yml"), "\(branch): \(start.commands)")
            let stack = try step(branch, "start-stack")
            #expect(stack.commands.contains { $0.hasSuffix("up -d --no-deps inventree-db") }, "\(branch): \(stack.commands)")
        }
        // Not reachable by address (no online address): the override publishes the port upshift uses.
        let offline = try RecordedWorlds.pgUpgrade(try RecordedDeployment("inventree"), RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18), online: false))
        #expect(!StartNewDatabaseStep.startsInFinalForm(offline, on: .prepared))
        var facts = RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18), online: true)
        facts.extensions = [InstalledExtension(database: "postgres", name: "pg_trgm", version: "1.6")]
        let extended = try RecordedWorlds.pgUpgrade(try RecordedDeployment("inventree"), facts)
        #expect(!StartNewDatabaseStep.startsInFinalForm(extended, on: .prepared))
        #expect(!StartNewDatabaseStep.startsInFinalForm(world, on: .standby) && !StartNewDatabaseStep.startsInFinalForm(world, on: .changed))
        withExtendedLifetime(deployment) {}
    }

    @Test func publicationsSubscriptionsAndSlotsAreTheRunsOwn() {
        let name = SubscriberServer.objectName(Self.runID)
        #expect(name == "upshift_20261201_090000_a1b2")
        #expect(SubscriberServer.slotName(Self.runID, index: 2) == "upshift_20261201_090000_a1b2_2")
        let table = { (n: String) in LogicalSources.Table(schema: "public", name: n) }
        let database = LogicalSources.Database(name: "inv'entory", replicated: [table("part"), table("Stock Item")], insertOnly: [table("log")])
        #expect(ReplicationTeardown.publicationStatements(database, runID: Self.runID) == [
            "CREATE PUBLICATION upshift_20261201_090000_a1b2 FOR TABLE \"public\".\"part\", \"public\".\"Stock Item\"",
            "CREATE PUBLICATION upshift_20261201_090000_a1b2_ins FOR TABLE \"public\".\"log\" WITH (publish = 'insert')",
        ])
        let subscription = ReplicationTeardown.subscriptionStatement(database, runID: Self.runID, slot: "upshift_20261201_090000_a1b2_1", superuser: "post'gres")
        #expect(subscription == "CREATE SUBSCRIPTION upshift_20261201_090000_a1b2 CONNECTION 'host=127.0.0.1 port=5432 user=''post\\''gres'' dbname=''inv\\''entory'' application_name=upshift_replica' PUBLICATION upshift_20261201_090000_a1b2, upshift_20261201_090000_a1b2_ins WITH (slot_name = 'upshift_20261201_090000_a1b2_1')")
        #expect(!subscription.contains("password"))
        let insertOnly = LogicalSources.Database(name: "app", replicated: [], insertOnly: [table("log")])
        #expect(ReplicationTeardown.publicationNames(insertOnly, runID: Self.runID) == ["upshift_20261201_090000_a1b2_ins"])
        // Table copies' slots are matched only by the replica's identifier, which must be digits.
        #expect(ReplicationTeardown.dropSlotsSQL(slots: ["a_1"], identifier: "7716382669549572127").contains("LIKE '%\\_7716382669549572127'"))
        #expect(!ReplicationTeardown.dropSlotsSQL(slots: ["a_1"], identifier: "1' OR true --").contains("OR true"))
    }

    @Test func schemaDigestsIgnoreCommentsRestrictKeysAndTheRunsPublication() {
        let first = """
            --
            -- PostgreSQL database dump
            --
            \\restrict AbC123

            CREATE TABLE public.part (id integer);

            \\unrestrict AbC123
            """
        let again = """
            --
            -- PostgreSQL database dump, another header
            --
            \\restrict XyZ789

            CREATE TABLE public.part (id integer);
            CREATE PUBLICATION upshift_20261201_090000_a1b2 WITH (publish = 'insert');
            ALTER PUBLICATION upshift_20261201_090000_a1b2 ADD TABLE ONLY public.part;

            \\unrestrict XyZ789
            """
        let name = SubscriberServer.objectName(Self.runID)
        #expect(SchemaCopy.digest(first, ignoring: name) == SchemaCopy.digest(again, ignoring: name))
        let altered = first.replacingOccurrences(of: "(id integer)", with: "(id integer, flag integer DEFAULT 7)")
        #expect(SchemaCopy.digest(first, ignoring: name) != SchemaCopy.digest(altered, ignoring: name))
        let userPublication = first + "\nCREATE PUBLICATION mine FOR ALL TABLES;"
        #expect(SchemaCopy.digest(first, ignoring: name) != SchemaCopy.digest(userPublication, ignoring: name))
    }

    @Test func aCopyThatDiffersWhereNothingWasWrittenIsFound() {
        let fingerprint = { (rows: Int) in
            Fingerprint(serverVersion: "15", serverMajor: 15, dataChecksums: false, roles: [], databases: [DatabaseFingerprint(
                name: "app", encoding: "UTF8", collate: "C", ctype: "C", extensions: [],
                tables: [TableFingerprint(schema: "public", name: "part", rowCount: rows, checksum: "c\(rows)"), TableFingerprint(schema: "public", name: "job", rowCount: 5, checksum: "j")],
                sequences: [])])
        }
        let snapshot = fingerprint(3)
        #expect(StageSubscriberStep.differences(snapshot: snapshot, replica: fingerprint(3), unchanged: ["app": ["public.part", "public.job"]]).isEmpty)
        #expect(StageSubscriberStep.differences(snapshot: snapshot, replica: fingerprint(4), unchanged: ["app": ["public.part"]])
            == ["database app: table public.part: 3 rows in the snapshot, 4 on the replica (or other content)"])
        // A table written since the snapshot is not compared here; the window scans it on both sides.
        #expect(StageSubscriberStep.differences(snapshot: snapshot, replica: fingerprint(4), unchanged: ["app": ["public.job"]]).isEmpty)
    }
}
