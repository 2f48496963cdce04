import Foundation
import UpshiftCompose
import UpshiftSupport

extension PruneInventory {
    /// The inventory of `project`, with the live data locations from compose and a helper image the engine
    /// has. `upshift prune` lists and removes from it; the fleet view counts what it holds, so both see the
    /// same kept data.
    public static func forProject(_ project: ComposeProject, database: DatabaseService, runner: any CommandRunning) async -> PruneInventory {
        let containers = (try? await project.cli.containers()) ?? []
        let images = containers.filter { $0.service == database.service }.compactMap(\.image)
        let helper = await DataDirectoryOperations.chooseHelperImage([database.imageText] + images, runner: runner) ?? database.imageText
        return PruneInventory(
            projectDirectory: project.location.directory,
            liveLocations: [database.dataLocation] + (database.legacyLayoutLocation.map { [$0] } ?? []),
            helperImage: helper, runner: runner)
    }
}
