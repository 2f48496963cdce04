import Foundation
import UpshiftPlans
import UpshiftSupport

/// Payload of `ComposeServicesCompensator`.
package struct ComposeServicesPayload: Sendable, Hashable, Codable {
    package enum Action: String, Sendable, Hashable, Codable { case start, stop }
    var handle: ComposeHandle
    var services: [String]
    var action: Action
}

/// Starts or stops services of the project, with the files as they are on disk at that moment (the
/// switch-image compensation has put the originals back by then).
package struct ComposeServicesCompensator: Compensating {
    package static let kind: StepKind = "compose.services"
    var runner: any CommandRunning

    package init(runner: any CommandRunning) { self.runner = runner }

    package static func spec(handle: ComposeHandle, services: [String], action: ComposeServicesPayload.Action, description: String) throws -> CompensationSpec {
        try CompensationSpec(kind: kind, description: description, typedPayload: ComposeServicesPayload(handle: handle, services: services, action: action))
    }

    package func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(ComposeServicesPayload.self)
        guard !payload.services.isEmpty else { return }
        let tool = try await ComposeCLI.detect(runner: runner)
        let compose = ComposeOperations(cli: payload.handle.cli(runner: runner, tool: tool), redactor: context.redactor)
        switch payload.action {
        case .start:
            context.progress("starting \(payload.services.joined(separator: ", "))")
            try await compose.up(payload.services)
        case .stop:
            context.progress("stopping \(payload.services.joined(separator: ", "))")
            try await compose.stop(payload.services, timeout: 120)
        }
    }
}
