import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Payload of `RestoreDatabaseServiceCompensator`.
struct RestoreDatabaseServicePayload: Sendable, Hashable, Codable {
    var handle: ComposeHandle
    var service: String
    var runFolder: String
    var leaveStopped: Bool
    var readyTimeout: Int
}

/// Brings the old database service back exactly as the user's files describe it, and — when a "before"
/// fingerprint was taken — proves the old data is intact first: the server is started with a fresh
/// isolation override, fingerprinted through libpq and compared, then recreated without the override.
struct RestoreDatabaseServiceCompensator: Compensating {
    static let kind: StepKind = "pg.restore-db-service"
    var runner: any CommandRunning

    static func spec(world: PgUpgradeWorld) throws -> CompensationSpec {
        try CompensationSpec(
            kind: kind, description: "start \(world.service) on the old data, verify its fingerprint, recreate it from the original files",
            typedPayload: RestoreDatabaseServicePayload(
                handle: world.context.handle, service: world.service, runFolder: world.runFolder.path,
                leaveStopped: !world.context.databaseWasRunning, readyTimeout: world.context.options.readyTimeout))
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(RestoreDatabaseServicePayload.self)
        let tool = try await ComposeCLI.detect(runner: runner)
        let runID = context.runID.rawValue
        let network = WindowIsolation.networkName(runID: runID)
        let before = FingerprintStep.path(payload.runFolder, .before)
        if FileManager.default.fileExists(atPath: before) {
            let port = try PgUpgradePreflight.freePort()
            // A remote engine's loopback is not this host's: publish nothing there, reach it through a tunnel.
            let remote = (try? await EngineEndpoint.current(runner: runner))?.isLocal == false
            let tunnel = remote ? try DatabaseTunnel(port: port, project: payload.handle.projectName, service: payload.service, engine: .of(runner)) : nil
            defer { tunnel?.stop() }
            // In a private temporary folder, not the run folder: the undo must work when the filesystem that
            // holds .upshift is full (the very fault that may have stopped the run).
            let scratch = try PrivateScratch.make(prefix: "upshift-verify-\(runID)")
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let override = scratch + "/verify.override.yml"
            // Verified as isolated as the window was: nobody writes to the old data before the check.
            try await WindowIsolation.writeOverride(path: override, service: payload.service, hostPort: remote ? nil : port, network: network, runID: runID, runner: runner)
            var cli = payload.handle.cli(runner: runner, tool: tool, extraFiles: [override])
            let config = try await cli.config()
            var database = try DatabaseService.select(from: config, named: payload.service)
            var redactor = context.redactor
            redactor.add(database.password)
            var compose = ComposeOperations(cli: cli, redactor: redactor)
            context.progress("starting \(payload.service) on the old data to verify it")
            try await compose.up([payload.service])
            if try await database.readPasswordInContainer(compose: compose, runner: runner) {
                redactor.add(database.password)
                compose = ComposeOperations(cli: cli, redactor: redactor)
            }
            let parameters = database.superuserConnection(host: "127.0.0.1", port: port)
            try await Connection.waitUntilReady(parameters, deadline: .now + .seconds(payload.readyTimeout))
            let fingerprint = try await Fingerprinter.captureAsync(parameters)
            let expected = try FingerprintFile.load(before)
            let differences = expected.diff(against: fingerprint)
            try? FingerprintFile.save(fingerprint, to: payload.runFolder + "/fingerprint-rollback.json")
            guard differences.isEmpty else {
                throw UpshiftError("the old cluster's fingerprint differs from the one taken before the run:\n  " + differences.prefix(10).joined(separator: "\n  "))
            }
            context.progress("old fingerprint verified: identical")
            try? FileManager.default.removeItem(atPath: override)
        }
        let compose = ComposeOperations(cli: payload.handle.cli(runner: runner, tool: tool), redactor: context.redactor)
        try await compose.up([payload.service])
        // A container only moved to the window's network has the user's configuration: `up` keeps it as it
        // is, so it is recreated to be on its own networks again.
        if let id = try await ContainerState.read(service: payload.service, compose: compose, runner: runner)?.id,
           let exposure = try await ContainerExposure.inspect(container: id, runner: runner), exposure.networks[network] != nil {
            try await compose.run(["up", "-d", "--no-deps", "--force-recreate", payload.service])
        }
        if let problem = await WindowIsolation.removeNetwork(network, runner: runner) { context.progress(problem) }
        if payload.leaveStopped { try await compose.stop([payload.service], timeout: 120) }
    }
}
