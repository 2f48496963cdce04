import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
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

/// Undoes work done by the run's helper containers before the window (the online `pg_dump`s): they outlive
/// a killed upshift, so the undo stops and removes them. Their files are left for `upshift prune`: the
/// run's dump directory is also the window's.
struct HelperContainersCompensator: Compensating {
    static let kind: StepKind = "run.helper-containers"
    var runner: any CommandRunning

    static func spec(runID: RunID) -> CompensationSpec {
        CompensationSpec(kind: kind, description: "stop and remove this run's helper containers (a pg_dump that outlived upshift)")
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        try await RunHelperContainers.removeLeftovers(runID: context.runID.rawValue, runner: runner, progress: context.progress)
    }
}
