import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Payload of `SubscriberCompensator`.
struct SubscriberPayload: Sendable, Hashable, Codable {
    var staged: StagedClusterPayload
    var handle: ComposeHandle
    var service: String
    var runFolder: String
}

/// Undoes `stage-subscriber` (and the pg_upgrade method's `stage-promote-at-slots` and
/// `stage-subscribe-upgraded`, with the copy and the standby's physical slot): the replica's container and
/// directory go (as for any staged cluster), then
/// the run's replication slots and publications are dropped on the old server, through `psql` in its
/// container. A slot left behind would keep WAL on the user's disk for ever.
///
/// The undo runs after the window's own (which brought the old server back); when the server is not
/// running there is nothing it can do there, and it says so rather than fail the rollback.
struct SubscriberCompensator: Compensating {
    static let kind: StepKind = "pg.subscriber"
    var runner: any CommandRunning

    static func spec(world: PgUpgradeWorld) throws -> CompensationSpec {
        let own = StagedCluster.ownDirectories(world)
        let payload = SubscriberPayload(
            staged: StagedClusterPayload(mount: world.context.placement.mount, image: world.database.imageText, relativePath: own[0], copyRelativePath: own.count > 1 ? own[1] : nil),
            handle: world.context.handle, service: world.service, runFolder: world.runFolder.path)
        return try CompensationSpec(
            kind: kind, description: "stop the replica, delete \(own.joined(separator: " and ")) if still there, drop this run's replication slots and publications on \(world.service)",
            typedPayload: payload)
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(SubscriberPayload.self)
        try await StagedCluster.discard(
            relativePaths: [payload.staged.relativePath] + (payload.staged.copyRelativePath.map { [$0] } ?? []), mount: payload.staged.mount, image: payload.staged.image, runID: context.runID.rawValue,
            runner: runner, progress: context.progress)
        let tool = try await ComposeCLI.detect(runner: runner)
        var cli = payload.handle.cli(runner: runner, tool: tool)
        let compose = ComposeOperations(cli: cli, redactor: context.redactor)
        guard let container = try await ContainerState.read(service: payload.service, compose: compose, runner: runner), container.status == "running" else {
            context.progress("\(payload.service) is not running: this run's replication slots and publications, if any, stay until it runs and `upshift rollback --run \(context.runID.rawValue)` is repeated")
            return
        }
        var database = try DatabaseService.select(from: try await cli.config(), named: payload.service)
        var redactor = context.redactor
        redactor.add(database.password)
        if try await database.readPasswordInContainer(compose: compose, runner: runner) { redactor.add(database.password) }
        let identifier = ReplicationTeardown.identifier(folderPath: payload.runFolder)
        let slots = (1...64).map { SubscriberServer.slotName(context.runID, index: $0) } + [ReplicationTeardown.standbySlotName(context.runID)]
        let psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", database.superuser]
        var statements = [("postgres", ReplicationTeardown.dropSlotsSQL(slots: slots, identifier: identifier))]
        let list = try await runner.run(compose.execCommand(payload.service, psql + ["-A", "-t", "-d", "postgres", "-c", "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"], environment: database.passwordEnvironment, timeout: .seconds(120)))
        try list.check(redactor: redactor)
        for name in list.stdoutText.split(whereSeparator: { $0.isNewline }).map(String.init) where !name.isEmpty {
            statements.append((name, ReplicationTeardown.dropPublicationsSQL(runID: context.runID)))
        }
        context.progress("dropping this run's replication slots and publications on \(payload.service)")
        for (name, sql) in statements {
            let result = try await runner.run(compose.execCommand(payload.service, psql + ["-d", ConnInfo.dbname(name), "-c", ReplicationTeardown.quiet, "-c", sql], environment: database.passwordEnvironment, timeout: .seconds(120)))
            try result.check(redactor: redactor)
        }
    }
}
