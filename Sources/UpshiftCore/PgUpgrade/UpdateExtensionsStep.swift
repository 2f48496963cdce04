import Foundation
import UpshiftPlans
import UpshiftPostgres

/// After the data is verified: brings every extension to the new image's default version (`ALTER EXTENSION …
/// UPDATE`, which pg_upgrade leaves undone and a restore may too) and reports each one's version before and
/// after, so the user sees what the upgrade changed beyond the server (`vector 0.7.0 -> 0.8.6`).
///
/// An extension without an update path stays at its version and is reported so; it does not fail the run, whose
/// data is already proven equal. Changes only the new cluster, which an undo discards.
struct UpdateExtensionsStep: PlanStep {
    var world: PgUpgradeWorld

    static func applies(_ world: PgUpgradeWorld) -> Bool { !world.context.extensions.isEmpty }

    func planned() -> PlannedStep {
        PlannedStep(
            id: "update-extensions", title: "Update extensions to the versions of \(world.context.targetImage) and report them",
            kind: "pg.update-extensions", commands: ["ALTER EXTENSION … UPDATE in each database where the installed version is not the default"],
            mutates: false, notes: ["before: " + ExtensionCatalog.list(world.context.extensions)])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let parameters = try await ServerTarget.service.connection(world)
        let databases = Set(world.context.extensions.map(\.database)).sorted()
        let (after, failures) = try await Blocking.run { () throws -> ([InstalledExtension], [String]) in
            var after: [InstalledExtension] = []
            var failures: [String] = []
            for db in databases {
                let conn = try Connection(parameters.with(database: db))
                let stale = try conn.query("SELECT name FROM pg_available_extensions WHERE installed_version IS NOT NULL AND installed_version <> default_version ORDER BY name")
                    .rows.compactMap { try $0.string("name") }
                for name in stale {
                    do {
                        _ = try conn.execute("ALTER EXTENSION \(quoteIdentifier(name)) UPDATE")
                    } catch {
                        failures.append("\(name) (database \(db)): \(error)")
                    }
                }
                let rows = try conn.query(InstalledExtension.query).rows
                after += try rows.map { InstalledExtension(database: db, name: try $0.string("extname") ?? "", version: try $0.string("extversion") ?? "") }
            }
            return (after, failures)
        }
        let report = Self.report(before: world.context.extensions, after: after)
        for line in report { context.progress(line) }
        var summary = "extensions: " + report.joined(separator: "; ")
        if !failures.isEmpty { summary += "; not updated (kept at their version): " + failures.joined(separator: "; ") }
        return StepOutcome(summary: summary)
    }

    /// `app: vector 0.7.0 -> 0.8.6`, `app: hstore 1.8 (unchanged)`, `app: cube 1.5 -> missing` per extension.
    static func report(before: [InstalledExtension], after: [InstalledExtension]) -> [String] {
        let now = Dictionary(after.map { ("\($0.database)\u{0}\($0.name)", $0.version) }, uniquingKeysWith: { a, _ in a })
        return before.map { ext in
            let version = now["\(ext.database)\u{0}\(ext.name)"]
            let change = version.map { $0 == ext.version ? "\(ext.version) (unchanged)" : "\(ext.version) -> \($0)" } ?? "\(ext.version) -> missing"
            return "\(ext.database): \(ext.name) \(change)"
        }
    }
}
