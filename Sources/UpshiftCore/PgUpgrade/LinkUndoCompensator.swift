import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Payload of `LinkUndoCompensator`.
struct LinkUndoPayload: Sendable, Hashable, Codable {
    var mount: DataLocation
    var image: String
    /// The old cluster, relative to the mount, where it is while the run is undone (its aside name).
    var oldRelative: String
}

/// Undoes `pg_upgrade --link` before the new cluster ever started: pg_upgrade renamed the old cluster's
/// `global/pg_control` to `pg_control.old` so it cannot start by mistake; renaming it back makes the old
/// cluster whole again (PostgreSQL's documented recovery). Once the new server has started, the
/// start-new-db compensation rebuilds the old cluster from the dump instead, and this finds nothing to do.
struct LinkUndoCompensator: Compensating {
    static let kind: StepKind = "pg.link-undo"
    var runner: any CommandRunning

    static func spec(_ upgrade: PgUpgradeRun) throws -> CompensationSpec {
        let payload = LinkUndoPayload(mount: upgrade.mount, image: upgrade.world.database.imageText, oldRelative: upgrade.oldRelative)
        return try CompensationSpec(kind: kind, description: "rename \(payload.oldRelative)/global/pg_control.old back to pg_control (the new cluster never started)", typedPayload: payload)
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(LinkUndoPayload.self)
        try await RunHelperContainers.removeLeftovers(runID: context.runID.rawValue, runner: runner, progress: context.progress)
        let data = DataDirectoryOperations(runner: runner, image: payload.image)
        let base = payload.oldRelative.isEmpty ? "global" : payload.oldRelative + "/global"
        guard try await data.exists(payload.mount, relativePath: base + "/pg_control.old") else { return }
        guard try await !data.exists(payload.mount, relativePath: base + "/pg_control") else { return }
        context.progress("renaming \(base)/pg_control.old back to pg_control")
        try await data.moveAside(payload.mount, from: base + "/pg_control.old", to: base + "/pg_control")
    }
}
