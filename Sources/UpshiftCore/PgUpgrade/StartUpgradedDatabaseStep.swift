import Foundation
import UpshiftCompose
import UpshiftPlans

/// Starts the new major on the upgraded cluster (the entrypoint sees `PG_VERSION` and skips init) and waits
/// for a password login. In `link` mode this is the moment the old cluster becomes unusable — the new
/// server rewrites files both share — so it is written to the audit log first and the undo from here on
/// rebuilds the old cluster from the verified dump.
struct StartUpgradedDatabaseStep: PlanStep {
    var upgrade: PgUpgradeRun
    /// The window's `prepared` branch: the cluster upgraded before the window, now in place, whose files the
    /// old cluster does not share — no point of no return, and it is proven to be that cluster.
    var onPrepared = false
    /// Start from the user's files (`StartNewDatabaseStep.finalForm`): for the `prepared` branch, verified
    /// before the window.
    var finalForm = false

    func planned() throws -> PlannedStep {
        let world = upgrade.world
        let command = (finalForm ? world.compose : world.newServerCompose).cli.command(["up", "-d", "--no-deps", world.service])
        let compensation: CompensationSpec
        var notes: [String] = finalForm ? [StartNewDatabaseStep.finalFormNote] : []
        if upgrade.mode == .link && !onPrepared {
            compensation = try RebuildFromDumpCompensator.spec(upgrade)
            notes.append("POINT OF NO RETURN for the old cluster (--link): once the new server starts, undo rebuilds the old cluster from the dump")
        } else {
            compensation = try ComposeServicesCompensator.spec(handle: world.context.handle, services: [world.service], action: .stop, description: "stop the new \(world.service)")
        }
        return PlannedStep(
            id: "start-new-db", title: "Start PostgreSQL \(world.context.options.targetMajor) on the \(onPrepared ? "cluster upgraded before the window" : "upgraded cluster") (\(world.context.placement.newPGDATA))",
            kind: "pg.start-new-db", commands: PlannedStep.render([command], redactor: world.redactor), mutates: true,
            compensation: compensation, notes: notes)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let world = upgrade.world
        if onPrepared {
            let (major, staged) = try await StartNewDatabaseStep(world: world, onPrepared: true, finalForm: finalForm).startPrepared(context)
            return StepOutcome(summary: "PostgreSQL \(major) ready on the cluster upgraded before the window (system identifier \(staged.systemIdentifier)); the old cluster was never touched")
        }
        if upgrade.mode == .link {
            context.oldClusterUnusable("starting PostgreSQL \(world.context.options.targetMajor) on hard-linked files makes the PostgreSQL \(world.context.oldMajor) cluster unusable; an undo rebuilds it from \(DumpClusterStep.directory(world))")
        }
        let major = try await StartNewDatabaseStep(world: world).startTargetServer(context, waiting: "to accept logins").major
        return StepOutcome(summary: "PostgreSQL \(major) ready on the upgraded cluster")
    }
}
