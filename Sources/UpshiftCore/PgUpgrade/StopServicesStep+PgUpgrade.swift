import Foundation
import UpshiftCompose
import UpshiftPlans

extension StopServicesStep {
    /// pg-upgrade's: the application services that were running, stopped for the window.
    init(world: PgUpgradeWorld) {
        let apps = world.context.applicationServices
        self.init(compose: world.compose, handle: world.context.handle, services: apps, running: apps,
                  timeout: world.context.options.stopTimeout, kind: "pg.stop-app")
    }
}
