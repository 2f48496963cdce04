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

                Fleet view: with --context given more than once, --all-contexts or --fleet, one row per compose \
                deployment each engine knows (database major in the image and on disk, what past runs kept, \
                the last run). Exit 0 when every context answered, 69 when one could not be reached (its row \
                says why; the others are still listed).

                Examples:
                  upshift status
                  upshift -C /srv/inventree status
                  upshift status --json | jq '.database'
                  upshift status --context prod --context staging
                  upshift status --all-contexts --json
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print the status as JSON.")
        var json = false

        @Flag(help: "The fleet view (one row per deployment) of the one context chosen, or docker's current one.")
        var fleet = false

        /// `--all-contexts` already names every context; an extra `--context` would be silently ignored.
        func validate() throws {
            if global.allContexts && !global.contexts.isEmpty { throw ValidationError("--all-contexts and --context exclude each other") }
        }

        func run() async throws {
            if fleet || global.engineChoice.isFleet { return try await runFleet() }
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

        /// The fleet view: every deployment of every context asked for. Project options choose one project,
        /// which the fleet view does not, so they are refused rather than ignored.
        func runFleet() async throws {
            if global.projectDirectory != nil || !global.file.isEmpty || global.projectName != nil || !global.envFile.isEmpty {
                throw UpshiftError.usage(
                    "the fleet view lists every deployment of each context; -C, -f, -p and --env-file choose one project",
                    hint: "drop them, or give one --context without --fleet for one project's status")
            }
            let live = LiveCommandRunner()
            let targets: [FleetTarget]
            if global.allContexts {
                targets = try await FleetTarget.all(runner: live)
            } else if !global.contexts.isEmpty {
                targets = FleetTarget.named(global.contexts)
            } else {
                let engine = try await EngineEndpoint.select(context: nil, runner: live)
                targets = [FleetTarget(context: engine.context ?? "default", engine: engine)]
            }
            let rows = await FleetCollector(targets: targets, runner: live, dbService: global.dbService).collect()
            print(json ? try FleetRenderer.json(rows) : FleetRenderer.text(rows, contexts: targets.map(\.context)))
            let unreached = rows.filter { $0.project == nil && $0.error != nil }.map(\.context)
            if !unreached.isEmpty {
                throw UpshiftError.unavailable(
                    "\(unreached.count) of \(targets.count) contexts could not be reached (\(unreached.joined(separator: ", "))); the rows above say why",
                    hint: "docker --context NAME info shows what docker says about it")
            }
        }
    }
}
