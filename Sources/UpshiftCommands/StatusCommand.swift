import ArgumentParser
import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift status`: what is deployed and whether the data on disk matches the image.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the project, its services, the database image vs the data on disk, and the last runs.",
            discussion: """
                Reads only: docker compose config and ps, the image tags, and PG_VERSION through a helper container.

                Examples:
                  upshift status
                  upshift -C /srv/inventree status
                  upshift status --json | jq '.database'
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print the status as JSON.")
        var json = false

        func run() async throws {
            let runner = try await global.runner()
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            let status = try await StatusCollector(project: project, runner: runner, lastRuns: { AuditTrail.lastRuns(projectDirectory: $0) }).collect()
            print(json ? try StatusRenderer.json(status) : StatusRenderer.text(status))
            if !json, let (folder, state) = try? RunFolder.runNeedingRollback(projectDirectory: project.location.directory) {
                // A killed or half-undone run leaves the deployment between two states: say so first and loudest.
                print("""

                    !! run \(folder.runID) (\(state.command ?? "?")) was interrupted\(state.inFlightStep.map { " in step \($0.id)" } ?? "") and is not undone.
                    !! recover with: upshift -C \(ShellQuote.quote(project.location.directory)) rollback --run \(folder.runID)
                    """)
            }
        }
    }
}
