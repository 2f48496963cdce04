import Foundation
import UpshiftPlans

/// Creates the new cluster next to the old one, in the same mount, with the new major's `initdb` and the
/// old cluster's settings: 18's initdb enables data checksums unless told `--no-data-checksums`, which
/// pg_upgrade then rejects. The directory is created as root and handed to the data owner, because the
/// mount root often belongs to root. `--no-sync`, because pg_upgrade syncs the whole new cluster when it
/// finishes, and a cluster that fails before that is discarded. Undone by the move-aside compensation (the new directory is moved
/// aside as `.failed-<run>`).
struct InitNewClusterStep: PlanStep {
    var upgrade: PgUpgradeRun

    func planned() -> PlannedStep {
        let world = upgrade.world
        let mkdir = upgrade.command("mkdir", ["-p", "-m", "0700", upgrade.newPath], asRoot: true)
        let chown = upgrade.command("chown", ["\(upgrade.tool.uid):\(upgrade.tool.gid)", upgrade.newPath], asRoot: true)
        let initdb = upgrade.command(upgrade.tool.binNew + "/initdb", ["-D", upgrade.newPath, "<settings of the old cluster>", "--no-sync"])
        return PlannedStep(
            id: "init-new-cluster", title: "Initialise the PostgreSQL \(world.context.options.targetMajor) cluster at \(world.context.placement.newPGDATA) with the old cluster's settings",
            kind: "pg.init-new-cluster", commands: PlannedStep.render([upgrade.worker.startCommand, mkdir, chown, initdb], redactor: world.redactor), mutates: true, compensation: nil,
            notes: ["moved aside with the rest of the new data when the run is undone"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let settings = try upgrade.settings()
        let tool = upgrade.tool
        try await upgrade.run("mkdir", ["-p", "-m", "0700", upgrade.newPath], what: "creating \(upgrade.newRelative)", asRoot: true)
        try await upgrade.run("chown", ["\(tool.uid):\(tool.gid)", upgrade.newPath], what: "handing \(upgrade.newRelative) to uid \(tool.uid)", asRoot: true)
        let arguments = ["-D", upgrade.newPath] + (try settings.initdbArguments(newMajor: upgrade.world.context.options.targetMajor)) + ["--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]
        context.progress("initdb " + arguments.dropFirst(2).joined(separator: " "))
        try await upgrade.run(tool.binNew + "/initdb", arguments, what: "initdb of the new cluster")
        return StepOutcome(summary: "initialised: \(settings.summary)")
    }
}
