import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

/// The checks `pg-upgrade --method invoke` adds to the common preflight: the project must be InvenTree,
/// and the app image's `pg_dump`/`pg_restore` must be at least the target server's major — InvenTree's
/// image ships exactly one client major, and `invoke backup`/`restore` run that client against the new
/// server (a PG15 `pg_dump` aborts on a PG18 server: "server version mismatch"). Refused before anything
/// changes.
public struct InvokeUpgradePreflight: Sendable {
    public var context: PgUpgradeContext
    public var runner: any CommandRunning
    public var progress: @Sendable (String) -> Void

    public init(context: PgUpgradeContext, runner: any CommandRunning, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.context = context
        self.runner = runner
        self.progress = progress
    }

    /// - Returns: the InvenTree version `invoke version` reports, and whether its package index answers.
    @discardableResult
    public func run() async throws -> (version: InvenTreeVersion, packageIndex: PackageIndexProbe) {
        let app = AppDetection.detect(in: context.project.config)
        guard app.kind == .inventree, let server = app.serverService else {
            throw UpshiftError.usage("--method invoke drives InvenTree's own backup/update/restore tasks, and this project is not InvenTree",
                                     hint: "use --method dump")
        }
        let compose = ComposeOperations(cli: context.handle.cli(runner: runner, tool: context.project.tool), redactor: context.redactor)
        let tasks = InvenTreeTasks(compose: compose, server: server, noDeps: true)
        progress("asking \(server) for its InvenTree version")
        let version = try await tasks.version()
        try InvenTreeReleases.requireSupported(version, for: "drive pg-upgrade --method invoke on")
        try InvenTreeReleases.requireRestoreByName(version)
        for tool in ["pg_dump", "pg_restore"] {
            progress("checking the \(tool) major in \(app.image ?? server)")
            let major = try await tasks.clientMajor(tool)
            guard major >= context.options.targetMajor else {
                throw UpshiftError.usage(
                    "the InvenTree \(version) image (\(app.image ?? server)) ships \(tool) \(major), older than PostgreSQL \(context.options.targetMajor): `invoke backup`/`restore` would fail against the new server (\"server version mismatch\")",
                    hint: "update InvenTree first to a release whose image has a PostgreSQL \(context.options.targetMajor) client (upshift update --to …), or use --method dump")
            }
        }
        let index = try await PackageIndexProbe.run(tasks, progress: progress)
        return (version, index)
    }
}
