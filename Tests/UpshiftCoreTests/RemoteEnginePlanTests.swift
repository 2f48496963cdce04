import Foundation
import Testing
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport

/// With the engine on another host, the window publishes nothing on the engine's loopback (it is not this
/// host's): upshift reaches the database through `DatabaseTunnel` on this host's port instead.
struct RemoteEnginePlanTests {
    @Test func aRemoteEngineGetsNoPublishedPortInTheWindow() throws {
        var facts = RecordedWorlds.namedVolumeFacts()
        let localDeployment = try RecordedDeployment("named-volume")
        let local = try RecordedWorlds.pgUpgrade(localDeployment, facts)
        #expect(local.upshiftPort == 54329)
        let localPlan = try PgUpgradePlanner(world: local, environment: [:]).plan().plan
        #expect(localPlan.steps.first { $0.id == "isolate-db" }?.title.contains("published on 127.0.0.1:54329") == true)

        facts.options.remoteEngine = "tcp://10.0.0.5:2376"
        let remoteDeployment = try RecordedDeployment("named-volume")
        let remote = try RecordedWorlds.pgUpgrade(remoteDeployment, facts)
        #expect(remote.upshiftPort == nil)
        let plan = try PgUpgradePlanner(world: remote, environment: [:]).plan().plan
        let isolate = try #require(plan.steps.first { $0.id == "isolate-db" })
        #expect(!isolate.title.contains("published"), "\(isolate.title)")
        // The fingerprint still goes to 127.0.0.1:<port>: the tunnel's end on this host.
        #expect(plan.steps.first { $0.id == "fingerprint-old" }?.notes.contains("libpq to 127.0.0.1:54329 as postgres") == true)
        withExtendedLifetime((localDeployment, remoteDeployment)) {}
    }
}
