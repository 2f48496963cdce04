import Foundation
import UpshiftCompose
import UpshiftPlans

extension StopServicesStep {
    /// import's and transfer's: the target's running application services.
    init(target world: RecordsImportWorld) {
        let apps = world.context.runningAppServices
        self.init(compose: world.target.compose, handle: world.target.handle, services: apps, running: apps,
                  timeout: 30, kind: "records.stop-app", owner: "the target")
    }
}
