import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

extension CompensationRegistry {
    /// Every compensator upshift's planners journal, assembled in this one place (the composition root):
    /// the run itself and `upshift rollback` use it, so a fresh process can undo any kind of run.
    /// A new `Compensating` type is registered here; `LayeringTests` fails when one is missing.
    public static func upshift(runner: any CommandRunning) -> CompensationRegistry {
        CompensationRegistry()
            // Plans: host files and the run folder's snapshot.
            .registering(RenameCompensator.kind, RenameCompensator())
            .registering(RestoreSnapshotCompensator.kind, RestoreSnapshotCompensator())
            // Compose: services stopped or started by a step.
            .registering(ComposeServicesCompensator.kind, ComposeServicesCompensator(runner: runner))
            // pg-upgrade: the database service, its data directory, a staged cluster, link mode, a rebuild.
            .registering(RestoreDatabaseServiceCompensator.kind, RestoreDatabaseServiceCompensator(runner: runner))
            .registering(DataRestoreCompensator.kind, DataRestoreCompensator(runner: runner))
            .registering(StagedClusterCompensator.kind, StagedClusterCompensator(runner: runner))
            .registering(SubscriberCompensator.kind, SubscriberCompensator(runner: runner))
            .registering(LinkUndoCompensator.kind, LinkUndoCompensator(runner: runner))
            .registering(RebuildFromDumpCompensator.kind, RebuildFromDumpCompensator(runner: runner))
            // pg-upgrade before the window: helper containers (an online pg_dump) that outlived upshift.
            .registering(HelperContainersCompensator.kind, HelperContainersCompensator(runner: runner))
            // Backup / update / import: the application database from upshift's own dump.
            .registering(RestoreDumpCompensator.kind, RestoreDumpCompensator(runner: runner))
            // Transfer / restore: the media tree.
            .registering(RestoreMediaCompensator.kind, RestoreMediaCompensator(runner: runner))
    }
}
