import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Payload of `RestoreDumpCompensator`. Plain data, no secrets: the password is read again from the
/// project's compose files when the compensation runs.
public struct RestoreDumpPayload: Sendable, Hashable, Codable {
    public var handle: ComposeHandle
    /// The database service.
    public var service: String
    /// Services that must not hold connections (or migrate) while the database is replaced.
    public var applicationServices: [String]
    public var dumpPath: String
    /// The dump's SHA-256 as recorded when it was written; `nil` = read the `.sha256` sidecar.
    public var sha256: String?
    /// An override file to keep using while it exists (the run's isolation override), so bringing the
    /// database up does not recreate it differently.
    public var overridePath: String?
    public var readyTimeout: Int

    public init(handle: ComposeHandle, service: String, applicationServices: [String], dumpPath: String, sha256: String? = nil, overridePath: String? = nil, readyTimeout: Int = 180) {
        self.handle = handle
        self.service = service
        self.applicationServices = applicationServices
        self.dumpPath = dumpPath
        self.sha256 = sha256
        self.overridePath = overridePath
        self.readyTimeout = readyTimeout
    }
}

/// Puts the application database back from upshift's own dump: stops the application services, brings
/// the database service up, checks the dump's hash, drops the database and restores it with
/// `pg_restore --create`. Used where swapping image tags back cannot undo a change (migrations ran).
/// Idempotent: restoring the same dump twice gives the same database.
public struct RestoreDumpCompensator: Compensating {
    public static let kind: StepKind = "db.restore-dump"
    public var runner: any CommandRunning

    public init(runner: any CommandRunning) { self.runner = runner }

    public static func spec(_ payload: RestoreDumpPayload) throws -> CompensationSpec {
        try CompensationSpec(
            kind: kind, description: "restore database of \(payload.service) from \((payload.dumpPath as NSString).lastPathComponent) (pg_restore --create)",
            typedPayload: payload)
    }

    public func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(RestoreDumpPayload.self)
        guard FileManager.default.fileExists(atPath: payload.dumpPath) else {
            if case .partial = state {
                // Killed before the dump existed: nothing after it can have run.
                context.progress("no dump at \(payload.dumpPath): the step never got that far")
                return
            }
            throw UpshiftError("the dump \(payload.dumpPath) is missing; cannot put the database back", exitCode: .failedRollbackIncomplete)
        }
        let tool = try await ComposeCLI.detect(runner: runner)
        var extra: [String] = []
        if let override = payload.overridePath, FileManager.default.fileExists(atPath: override) { extra.append(override) }
        var cli = payload.handle.cli(runner: runner, tool: tool, extraFiles: extra)
        let config = try await cli.config()
        let database = try DatabaseService.select(from: config, named: payload.service)
        var redactor = context.redactor
        redactor.add(database.password)
        let compose = ComposeOperations(cli: cli, redactor: redactor)
        if !payload.applicationServices.isEmpty {
            context.progress("stopping \(payload.applicationServices.joined(separator: ", "))")
            try await compose.stop(payload.applicationServices, timeout: 60)
        }
        try await stopOneOffContainers(project: payload.handle.projectName, context: context)
        try await compose.up([payload.service])
        let dump = DatabaseDump(compose: compose, database: database)
        try await dump.waitUntilReady(timeout: .seconds(payload.readyTimeout))
        try await dump.restore(from: payload.dumpPath, expectedSHA256: payload.sha256, progress: context.progress)
        context.progress("database \(database.database) restored from \((payload.dumpPath as NSString).lastPathComponent)")
    }
}

extension RestoreDumpCompensator {
    /// `docker compose run` containers of the project (an `invoke update` whose upshift was killed keeps
    /// migrating in its container): stopped before the database is replaced under them.
    func stopOneOffContainers(project: String, context: CompensationContext) async throws {
        let list = try await runner.run(Command("docker", ["ps", "-q", "--filter", "label=com.docker.compose.project=\(project)", "--filter", "label=com.docker.compose.oneoff=True"], timeout: .seconds(60)))
        let ids = list.stdoutText.split(whereSeparator: \.isNewline).map(String.init)
        guard list.termination.isSuccess, !ids.isEmpty else { return }
        context.progress("stopping \(ids.count) one-off container(s) still running for \(project)")
        let stop = try await runner.run(Command("docker", ["stop", "-t", "10"] + ids, timeout: .seconds(120)))
        try stop.check(redactor: context.redactor)
    }
}
