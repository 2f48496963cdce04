import Foundation
import UpshiftCompose
import UpshiftSupport

/// The one-off servers upshift runs beside the user's (the staged cluster's, the standby): while waiting on
/// one, a container that stopped is a failure to report with its last log lines, not a wait to time out.
enum OneOffServerState {
    /// Fails when `container` is neither running nor just created; the error names `what` stopped, its
    /// status and the tail of its log (secrets redacted). Returns the state it read.
    @discardableResult
    static func requireRunning(_ container: String, what: String, runner: any CommandRunning, redactor: Redactor) async throws -> ContainerState {
        let state = try await ContainerState.inspect(container: container, runner: runner)
        guard let state, state.status == "running" || state.status == "created" else {
            let logs = try? await runner.run(Command("docker", ["logs", "--tail", "15", container], timeout: .seconds(30)))
            let tail = logs.map { redactor.redact(($0.stdoutText + $0.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? ""
            throw UpshiftError("\(what) stopped (\(state?.status ?? "gone"))" + (tail.isEmpty ? "" : "; its last log lines:\n" + tail))
        }
        return state
    }
}
