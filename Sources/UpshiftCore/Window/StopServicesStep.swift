import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Stops the services that must not use the database while a run works on it, and on undo starts exactly
/// the ones that were running. One step with explicit inputs, shared by pg-upgrade, update, restore and
/// import, so "stop the application" means the same everywhere: same command, same timeout, same undo.
struct StopServicesStep: PlanStep {
    var compose: ComposeOperations
    var handle: ComposeHandle
    /// What is stopped (a service that is already stopped stays so).
    var services: [String]
    /// What the undo starts again: the services among them that were running.
    var running: [String]
    /// Seconds each service gets to stop cleanly.
    var timeout: Int
    /// `pg.stop-app`, `app.stop`, …: the flow's kind, so logs and plans keep saying which run did it.
    var kind: StepKind
    /// Whose application, for the title: `nil` is the project's own, "the target" an import or transfer target's.
    var owner: String? = nil

    func planned() throws -> PlannedStep {
        let command = compose.cli.command(["stop", "-t", String(timeout)] + services)
        return PlannedStep(
            id: "stop-app",
            title: services.isEmpty
                ? "No application service\(owner.map { " of \($0)" } ?? "") is running"
                : "Stop \(owner.map { "\($0)'s" } ?? "the") application: \(services.joined(separator: ", "))",
            kind: kind, commands: services.isEmpty ? [] : PlannedStep.render([command], redactor: compose.redactor), mutates: true,
            compensation: try ComposeServicesCompensator.spec(
                handle: handle, services: running, action: .start, description: "start \(running.isEmpty ? "nothing" : running.joined(separator: ", ")) again"))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        try await compose.stop(services, timeout: timeout)
        return StepOutcome(summary: services.isEmpty ? "nothing to stop" : "stopped \(services.joined(separator: ", "))")
    }
}
