import Foundation
import UpshiftSupport

/// The one-off containers that write data during a run (pg_upgrade, initdb, pg_dump -Fd, pg_restore) carry
/// the run's id as a label, because killing upshift does not stop them: `docker run`'s client dies, the
/// container goes on. An undo that moved directories while a pg_upgrade still wrote into them would be
/// undoing a moving target, so every data compensation first removes what is left of the run's containers.
public enum RunHelperContainers {
    public static let label = "com.upshift.run"

    /// `--label com.upshift.run=<run>` for `docker run`.
    public static func arguments(runID: String) -> [String] {
        ["--label", "\(label)=\(runID)"]
    }

    /// Force-removes every container of the run that is still there; returns how many.
    @discardableResult
    public static func removeLeftovers(runID: String, runner: any CommandRunning, progress: (String) -> Void = { _ in }) async throws -> Int {
        let list = try await runner.run(Command("docker", ["ps", "-aq", "--filter", "label=\(label)=\(runID)"], timeout: .seconds(60)))
        try list.check()
        let ids = list.stdoutText.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !ids.isEmpty else { return 0 }
        progress("stopping \(ids.count) container(s) the interrupted run left running")
        try (try await runner.run(Command("docker", ["rm", "-f"] + ids, timeout: .seconds(120)))).check()
        return ids.count
    }
}
