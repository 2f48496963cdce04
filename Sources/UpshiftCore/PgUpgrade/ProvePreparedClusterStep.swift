import Foundation
import UpshiftPlans

/// The `prepared` branch's verification: the cluster was fingerprinted before the window and found equal
/// to the online snapshot, which the window found current; here its system identifier proves the running
/// cluster is that one, and the application's user logs in over TCP. No scan inside the window.
struct ProvePreparedClusterStep: PlanStep {
    var world: PgUpgradeWorld

    func planned() -> PlannedStep {
        PlannedStep(
            id: "verify", title: "Verify: the running cluster is the one verified before the window (system identifier); log in over TCP with the application's password",
            kind: "pg.verify", mutates: false,
            notes: ["its fingerprint was compared with the snapshot's before the window"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let staged = try StagedCluster.required(world)
        let parameters = try await StartNewDatabaseStep.provenServerConnection(world)
        // The identity and the application's logins are separate connections: read at once (downtime).
        async let logins: Void = ApplicationLogin.check(world: world, server: parameters)
        try await staged.proveRunning(parameters, failure: "verification failed: the running cluster is not the one verified before the window")
        try await logins
        let after = FingerprintStep.path(world.runFolder, .after)
        try? FileManager.default.removeItem(atPath: after)
        try FileManager.default.copyItem(atPath: StagedServer.fingerprintPath(world), toPath: after)
        return StepOutcome(summary: "identical: verified before the window (\(staged.summary)); the running cluster is that one (system identifier \(staged.systemIdentifier))")
    }
}
