import Foundation
import UpshiftCompose
import UpshiftPlans

extension SnapshotFilesStep {
    /// pg-upgrade's snapshot: the compose files and env files, and also the resolved config and the image
    /// digests, which the switch-image undo restores from and checks against.
    init(world: PgUpgradeWorld) {
        self.init(
            runFolder: world.runFolder, files: world.context.project.location.files + world.context.project.location.envFiles, kind: "pg.snapshot",
            resolved: ResolvedState(compose: world.compose, runner: world.runner,
                                    images: Set(world.context.project.config.services.values.compactMap(\.image)).sorted()))
    }
}
