import Foundation
import Testing
import UpshiftTestSupport

/// Real projects' compose files as their users run them (`compose/upstream/`, sources in its README): up, rows
/// written the way the application would, then `status`, `doctor`, `pg-upgrade --dry-run`, `pg-upgrade --yes` and
/// `rollback --yes`, each checked from outside upshift — psql row counts and row hashes per table, the test's own
/// libpq fingerprint of every database, the files byte for byte, every service running, the application's own
/// login. Where upshift must refuse (Immich's own postgres image; paperless-ngx's file for 18 run with 15, until
/// the user follows the way out), the refusal is checked for what, where and what to do, and that nothing
/// changed. What each project exercises is in `UpstreamProject`; the steps in `UpstreamScenario`.
///
/// One case per project. The scenarios all start with the first case and run together (`UpstreamRuns`), each in
/// its own compose project, so the suite takes about as long as its slowest project even under `--no-parallel`.
@Suite
struct UpstreamComposeEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"), arguments: UpstreamProject.selected)
    func upgradeAndRollBack(_ project: UpstreamProject) async throws {
        let outcome = await UpstreamRuns.shared.outcome(project)
        print(outcome.log.joined(separator: "\n"))
        for problem in outcome.problems {
            Issue.record(Comment(rawValue: problem))
        }
    }
}
