import Foundation
import UpshiftPlans
import UpshiftSupport

/// The upgrade itself: the new major's `pg_upgrade` moves the data into the new cluster in the chosen mode.
///
/// How it is undone depends on the mode: `copy` and `clone` leave the old files untouched (the move-aside
/// compensation renames the old cluster back); `link` only renames the old `global/pg_control` to
/// `pg_control.old`, which `LinkUndoCompensator` renames back as long as the new cluster never started;
/// `swap` moves the old files away as soon as it starts, so from here the old cluster is rebuilt from the
/// verified dump — announced in the audit log before pg_upgrade runs.
struct TransferDataStep: PlanStep {
    var upgrade: PgUpgradeRun

    func planned() throws -> PlannedStep {
        let command = upgrade.command(upgrade.tool.binNew + "/pg_upgrade", upgrade.pgUpgradeArguments(superuser: "<install user>"), workdir: upgrade.newPath)
        var notes: [String] = []
        switch upgrade.mode {
        case .copy, .clone: notes.append("the old cluster's files are not modified")
        case .link: notes.append("the old cluster stays usable until the new one first starts (step start-new-db)")
        case .swap: notes.append("POINT OF NO RETURN for the old cluster: its files move into the new one; undo rebuilds it from the dump")
        }
        return PlannedStep(
            id: "pg-upgrade", title: "Run pg_upgrade --\(upgrade.mode.rawValue) (PostgreSQL \(upgrade.world.context.oldMajor) -> \(upgrade.world.context.options.targetMajor))",
            kind: "pg.pg-upgrade", commands: PlannedStep.render([command], redactor: upgrade.world.redactor), mutates: true,
            compensation: try Self.compensation(upgrade), notes: notes)
    }

    static func compensation(_ upgrade: PgUpgradeRun) throws -> CompensationSpec? {
        switch upgrade.mode {
        case .copy, .clone: return nil
        case .link: return try LinkUndoCompensator.spec(upgrade)
        case .swap: return try RebuildFromDumpCompensator.spec(upgrade)
        }
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let settings = try upgrade.settings()
        if upgrade.mode == .swap {
            context.oldClusterUnusable("pg_upgrade --swap moves the PostgreSQL \(upgrade.world.context.oldMajor) files into the new cluster; an undo rebuilds the old cluster from \(DumpClusterStep.directory(upgrade.world))")
        }
        try await upgrade.run(
            upgrade.tool.binNew + "/pg_upgrade", upgrade.pgUpgradeArguments(superuser: settings.bootstrapSuperuser),
            what: "pg_upgrade --\(upgrade.mode.rawValue)", workdir: upgrade.newPath)
        try await collectScripts()
        return StepOutcome(summary: "pg_upgrade --\(upgrade.mode.rawValue): upgrade complete")
    }

    /// Where `update_extensions.sql` is kept for the analyze step, when pg_upgrade wrote one.
    static func extensionsScript(_ world: PgUpgradeWorld) -> String { world.runFolder.path + "/update_extensions.sql" }

    /// pg_upgrade leaves its scripts in its working directory, the new cluster: `update_extensions.sql`
    /// moves to the run folder (run once the new server is up), `delete_old_cluster.sh` is deleted, because
    /// the old cluster is kept until the user prunes it.
    func collectScripts() async throws {
        let script = upgrade.newPath + "/update_extensions.sql"
        let read = try await upgrade.output("cat", [script])
        if read.termination.isSuccess, !read.standardOutput.isEmpty {
            guard FileManager.default.createFile(atPath: Self.extensionsScript(upgrade.world), contents: read.standardOutput, attributes: [.posixPermissions: 0o600]) else {
                throw UpshiftError("cannot keep pg_upgrade's update_extensions.sql in \(upgrade.world.runFolder.path)")
            }
        }
        try await upgrade.run("rm", ["-f", script, upgrade.newPath + "/delete_old_cluster.sh"], what: "removing pg_upgrade's scripts from the new cluster")
    }
}
