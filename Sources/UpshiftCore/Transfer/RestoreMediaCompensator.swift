import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Payload of `RestoreMediaCompensator`: plain data, no secrets.
public struct RestoreMediaPayload: Sendable, Hashable, Codable {
    public var handle: ComposeHandle
    /// The InvenTree server service whose image runs the helper container.
    public var server: String
    /// The tar archive of the target's media tree taken before the copy.
    public var snapshotPath: String

    public init(handle: ComposeHandle, server: String, snapshotPath: String) {
        self.handle = handle
        self.server = server
        self.snapshotPath = snapshotPath
    }
}

/// Puts a media tree back as it was before `transfer --include-media`: empties it and extracts the archive
/// taken first, in a helper container of the server image, behind `MediaRootGuard.shell` (the root is read
/// from the environment when the undo runs, perhaps days later). Idempotent. When the archive was never completed
/// the copy had not started, so there is nothing to undo.
public struct RestoreMediaCompensator: Compensating {
    public static let kind: StepKind = "records.restore-media"
    public var runner: any CommandRunning

    public init(runner: any CommandRunning) { self.runner = runner }

    public func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(RestoreMediaPayload.self)
        guard FileManager.default.fileExists(atPath: payload.snapshotPath) else {
            if case .partial = state {
                context.progress("no media snapshot at \(payload.snapshotPath): the copy never started")
                return
            }
            throw UpshiftError("the media snapshot \(payload.snapshotPath) is missing; cannot put the media tree back", exitCode: .failedRollbackIncomplete)
        }
        let tool = try await ComposeCLI.detect(runner: runner)
        var cli = payload.handle.cli(runner: runner, tool: tool)
        _ = try await cli.config()
        let compose = ComposeOperations(cli: cli, redactor: context.redactor)
        let tasks = InvenTreeTasks(compose: compose, server: payload.server, noDeps: true)
        var command = tasks.runCommand(["-c", MediaTree.guardedPrelude + #"mkdir -p "$m" && cd "$m" && "# + MediaTree.wipe + "exec tar --numeric-owner -xf -", "sh"],
                                       entrypoint: "sh", timeout: .seconds(6 * 3600))
        command.standardInputFile = payload.snapshotPath
        context.progress("restoring the media tree from \((payload.snapshotPath as NSString).lastPathComponent)")
        let result = try await runner.run(command)
        // The root is judged again here, in the container that deletes: it may have changed since the run.
        if let refusal = MediaRootGuard.scriptRefusal(result, project: payload.handle.projectName, server: payload.server,
                                                      directory: payload.handle.location.directory, redactor: context.redactor) {
            throw refusal
        }
        try result.check(redactor: context.redactor)
    }
}
