import Foundation
import UpshiftPlans
import UpshiftSupport

/// `pg_upgrade --check` with the chosen mode, so mode-specific problems (clone on a filesystem without
/// reflinks, link across filesystems, missing libraries, reg* columns) stop the run before any file of the
/// old cluster is touched. Both clusters are stopped; the old one was confirmed shut down cleanly.
struct PgUpgradeCheckStep: PlanStep {
    var upgrade: PgUpgradeRun

    func planned() -> PlannedStep {
        let command = upgrade.command(upgrade.tool.binNew + "/pg_upgrade", ["--check"] + upgrade.pgUpgradeArguments(superuser: "<install user>"), workdir: upgrade.newPath)
        return PlannedStep(
            id: "pg-upgrade-check", title: "pg_upgrade --check --\(upgrade.mode.rawValue): are the clusters compatible?", kind: "pg.pg-upgrade-check",
            commands: PlannedStep.render([command], redactor: upgrade.world.redactor), mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let settings = try upgrade.settings()
        let result = try await upgrade.run(
            upgrade.tool.binNew + "/pg_upgrade", ["--check"] + upgrade.pgUpgradeArguments(superuser: settings.bootstrapSuperuser),
            what: "pg_upgrade --check --\(upgrade.mode.rawValue)", workdir: upgrade.newPath)
        guard result.stdoutText.contains("Clusters are compatible") else {
            throw UpshiftError("pg_upgrade --check did not report compatible clusters:\n" + String(result.stdoutText.suffix(800)))
        }
        return StepOutcome(summary: "clusters are compatible (--\(upgrade.mode.rawValue))")
    }
}
