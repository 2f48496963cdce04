import Foundation

/// Runs every upstream project's scenario at once, each in its own compose project, and hands each test case its
/// own project's outcome. `scripts/test` runs the end-to-end suites with `--no-parallel`; one after the other the
/// six scenarios take six minutes, mostly waiting (authentik's 30 s healthcheck interval, the window's
/// isolation proof), together about two.
actor UpstreamRuns {
    static let shared = UpstreamRuns()

    struct Outcome: Sendable {
        var problems: [String]
        var log: [String]
    }

    private var runs: [String: Task<Outcome, Never>] = [:]

    /// The outcome of `project`'s scenario; the first call starts all of them.
    func outcome(_ project: UpstreamProject) async -> Outcome {
        if runs.isEmpty {
            for each in UpstreamProject.selected {
                // Detached: the scenario belongs to no single test case; its problems are returned as values.
                runs[each.folder] = Task.detached { await Self.run(each) }
            }
        }
        guard let run = runs[project.folder] else { return Outcome(problems: ["\(project.folder) is not in UpstreamProject.selected"], log: []) }
        return await run.value
    }

    private static func run(_ project: UpstreamProject) async -> Outcome {
        let checks = UpstreamChecks(project: project.folder)
        let log = UpstreamLog()
        do {
            try await UpstreamScenario.run(project, checks: checks, log: log)
        } catch {
            checks.record("\(error)")
        }
        return Outcome(problems: checks.all, log: log.lines)
    }
}
