import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Put the old cluster out of the new server's way without copying or deleting anything — a rename
/// inside the same mount (O(1), same filesystem), done by a helper container of the old image so it works
/// for named volumes, bind mounts and remote engines alike. When PGDATA is the root of a named volume the
/// old cluster stays where it is and the new one goes into a sub-directory (`DataPlacement.pinSubdirectory`).
struct MoveDataAsideStep: PlanStep {
    var world: PgUpgradeWorld
    /// The pg_upgrade method's container, started while the move runs (its ~0.3 s leaves the downtime).
    /// Awaited before the step ends either way, so an undo that removes the run's containers finds it.
    var warmUp: UpgradeWorker? = nil
    /// The window's `prepared` branch: the cluster prepared before the window takes the old one's place, in
    /// the same helper call.
    var placesPrepared = false

    func planned() throws -> PlannedStep {
        let placement = world.context.placement
        var commands: [Command] = []
        if case .moveAside(let mount, let name, let aside, let newName, _) = placement {
            commands.append(world.oldData.moveCommand(mount, [(name, aside)], thenCreate: newName == name ? name : nil))
        }
        return PlannedStep(
            id: "move-data-aside", title: placement.pinsPGDATA ? "Keep the old cluster in place; the new one goes to \(placement.newPGDATA)" : "Move the old data aside: \(placement.summary)",
            kind: "pg.move-data-aside", commands: PlannedStep.render(commands, redactor: world.redactor), mutates: true,
            compensation: try DataRestoreCompensator.spec(world: world),
            notes: ["never copied, never deleted; kept until `upshift prune`"]
                + (placesPrepared ? ["\(StagedCluster.relativePath(world)) is renamed to \(world.context.placement.newRelativePath) by the same helper"] : []))
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let staged = placesPrepared ? try StagedCluster.required(world) : nil
        let warming = Task { [warmUp] in
            // A failure here is not this step's: init-new-cluster starts the container again and reports it.
            if let warmUp { try? await warmUp.start() }
        }
        do {
            let outcome = try await move(staged: staged)
            await warming.value
            return outcome
        } catch {
            await warming.value
            throw error
        }
    }

    /// - Parameter staged: the cluster prepared before the window, which takes the old one's place.
    func move(staged: StagedCluster?) async throws -> StepOutcome {
        switch world.context.placement {
        case .moveAside(let mount, let name, let aside, let newName, _):
            // move proves each moved directory kept its owner and mode. A cluster prepared before the window
            // takes the old one's place in the same helper container. A bind at PGDATA gets its (empty) source
            // directory back at once, owned like the old one: compose's long syntax does not create it.
            var pairs = [(from: name, to: aside)]
            if let staged { pairs.append((from: staged.relativePath, to: newName)) }
            try await world.oldData.move(mount, pairs, thenCreate: staged == nil && newName == name ? name : nil)
            let placed = staged.map { "; \($0.relativePath) -> \(world.context.placement.newRelativePath) (the cluster prepared before the window)" } ?? ""
            return StepOutcome(summary: "\(name) -> \(aside) in \(DataPlacement.describe(mount))" + placed, data: .string(aside))
        case .pinSubdirectory(let mount, let name, _):
            return StepOutcome(summary: "old cluster left at the root of \(DataPlacement.describe(mount)); new cluster in \(name)")
        }
    }
}

/// Payload of `DataRestoreCompensator`.
struct DataRestorePayload: Sendable, Hashable, Codable {
    var mount: DataLocation
    var image: String
    /// Where the old cluster lived (relative to the mount), when it was moved.
    var original: String?
    var aside: String?
    /// Where the new cluster is created (relative to the mount).
    var newPath: String
    /// Name the new cluster's directory gets when it is moved out of the way.
    var failedName: String
}

/// Puts the old cluster back: the new cluster's directory (if any) is moved aside as `.failed-<run>`
/// (kept, never deleted), then the old one renamed back. Idempotent: it looks before each move.
struct DataRestoreCompensator: Compensating {
    static let kind: StepKind = "pg.restore-data"
    var runner: any CommandRunning

    static func spec(world: PgUpgradeWorld) throws -> CompensationSpec {
        let placement = world.context.placement
        var payload = DataRestorePayload(
            mount: placement.mount, image: world.database.imageText, original: nil, aside: nil,
            newPath: placement.newRelativePath, failedName: placement.newRelativePath + ".failed-\(world.context.runID.rawValue)")
        var description = "move \(placement.newRelativePath) aside as \(payload.failedName)"
        if case .moveAside(_, let name, let aside, _, _) = placement {
            payload.original = name
            payload.aside = aside
            description += ", then rename \(aside) back to \(name)"
        }
        return try CompensationSpec(kind: kind, description: description, typedPayload: payload)
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(DataRestorePayload.self)
        try await RunHelperContainers.removeLeftovers(runID: context.runID.rawValue, runner: runner, progress: context.progress)
        let data = DataDirectoryOperations(runner: runner, image: payload.image)
        let mount = payload.mount
        let newExists = try await data.exists(mount, relativePath: payload.newPath)
        let asideExists = try await payload.aside.asyncMap { try await data.exists(mount, relativePath: $0) } ?? false
        // The new cluster occupies newPath when it differs from the original, or when the original was
        // moved away (then anything at the original path is new).
        let newIsNew = payload.newPath != payload.original || asideExists
        if newExists && newIsNew {
            if try await data.exists(mount, relativePath: payload.failedName) {
                throw UpshiftError("cannot move the new cluster aside: \(payload.failedName) already exists in \(DataPlacement.describe(mount))")
            }
            context.progress("moving the new cluster \(payload.newPath) aside as \(payload.failedName)")
            try await data.moveAside(mount, from: payload.newPath, to: payload.failedName)
        }
        if let original = payload.original, let aside = payload.aside, asideExists {
            context.progress("renaming \(aside) back to \(original)")
            try await data.moveAside(mount, from: aside, to: original)
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
