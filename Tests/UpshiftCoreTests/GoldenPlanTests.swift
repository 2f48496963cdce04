import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// One planner variant whose plan is kept as a golden file (`Fixtures/golden-plans/<rawValue>.txt`, and `.json`
/// for a few): what `--dry-run` prints for a recorded world (`RecordedWorlds`). A change to any planner shows
/// up here as a diff; regenerate with `UPSHIFT_UPDATE_GOLDEN=1` when it is intended (see `GoldenFile`).
enum GoldenPlan: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// `--method dump` on InvenTree's layout: bind mount, PGDATA in `pgdb`; dumped online and staged before the window.
    case dumpBindOnline = "pg-upgrade-dump-bind-pgdb-online"
    /// `--method dump` of a whole named volume (PGDATA its root, pinned to a sub-directory); all inside the window.
    case dumpVolumeWindow = "pg-upgrade-dump-volume-window"
    /// `--method pg_upgrade --mode link`: verified dump first, point of no return, rebuild on undo.
    case pgUpgradeLink = "pg-upgrade-pg_upgrade-link"
    /// `--method pg_upgrade --mode copy --no-online-prepare`: old cluster untouched, undo is a rename.
    case pgUpgradeCopy = "pg-upgrade-pg_upgrade-copy-window"
    /// `--method invoke` on InvenTree (backup, update --skip-backup, restore by name).
    case invoke = "pg-upgrade-invoke"
    /// `update --to 1.0.0`, InvenTree's containers reach the package index (`invoke update`).
    case updateOnline = "update-inventree-online"
    /// `update --to 1.0.0` without a package index: update's steps without pip, a plugin warning.
    case updateOffline = "update-inventree-offline"
    /// `restore` of InvenTree's own backup files by name.
    case restoreInvenTree = "restore-inventree"
    /// `restore` of an upshift dump into a plain postgres project.
    case restoreDump = "restore-dump"
    /// `import --clear` into InvenTree 1.0 (plugin rows in a second pass).
    case importRecords = "import-inventree-1.0"
    /// `transfer --include-media` between two InvenTree 1.0 installations.
    case transferMedia = "transfer-inventree-media"

    var testDescription: String { rawValue }

    /// The variants whose JSON (`plan.json`, `--dry-run --json`) is kept as well.
    var keepsJSON: Bool { self == .dumpBindOnline || self == .transferMedia }

    /// Passwords of the fixtures, which no plan may show.
    static let fixtureSecrets = ["pgpassword", "pa$word"]

    struct Rendered {
        var plan: Plan
        var text: String
        var json: String
        /// Commands the planner ran on its strict recording runner (planning must run none).
        var commandsRun: [String]
    }

    func render() async throws -> Rendered {
        var deployments: [RecordedDeployment] = []
        func deployment(_ fixture: String, as name: String? = nil) throws -> RecordedDeployment {
            let made = try RecordedDeployment(fixture, as: name)
            deployments.append(made)
            return made
        }
        var planningRunners: [any CommandRunning] = []
        func planned(_ world: PgUpgradeWorld) throws -> Plan {
            planningRunners.append(world.runner)
            return try PgUpgradePlanner(world: world, environment: [:]).plan().plan
        }
        func planned(_ planner: RestorePlanner) throws -> Plan {
            planningRunners.append(planner.runner)
            return try planner.plan().plan
        }
        let plan: Plan
        switch self {
        case .dumpBindOnline:
            plan = try planned(try RecordedWorlds.pgUpgrade(try deployment("inventree"), RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18), online: true)))
        case .dumpVolumeWindow:
            plan = try planned(try RecordedWorlds.pgUpgrade(try deployment("named-volume"), RecordedWorlds.namedVolumeFacts()))
        case .pgUpgradeLink:
            let options = PgUpgradeOptions(targetMajor: 18, method: .pgUpgrade, mode: .link, jobs: 2)
            plan = try planned(try RecordedWorlds.pgUpgrade(try deployment("inventree"), RecordedWorlds.inventreeFacts(options, online: true)))
        case .pgUpgradeCopy:
            var options = PgUpgradeOptions(targetMajor: 18, method: .pgUpgrade, mode: .copy, jobs: 2)
            options.prepareOnline = false
            plan = try planned(try RecordedWorlds.pgUpgrade(try deployment("inventree"), RecordedWorlds.inventreeFacts(options, online: true)))
        case .invoke:
            var facts = RecordedWorlds.inventreeFacts(PgUpgradeOptions(targetMajor: 18, method: .invoke), online: true)
            facts.packageIndex = PackageIndexProbe(host: "pypi.org", reachable: true)
            plan = try planned(try RecordedWorlds.pgUpgrade(try deployment("inventree"), facts))
        case .updateOnline, .updateOffline:
            let world = try await RecordedWorlds.update(try deployment("inventree"), to: "1.0.0", indexReachable: self == .updateOnline)
            plan = try AppUpdatePlanner(world: world).plan().plan
        case .restoreInvenTree:
            let source = RestoreContext.Source.inventree(
                version: InvenTreeVersion(1, 0, 0), server: "inventree-server",
                dbFile: "InvenTree-db-2026-11-30-020000.psql.bin.gz", mediaFile: "InvenTree-media-2026-11-30-020000.tar.gz")
            plan = try planned(try RecordedWorlds.restore(try deployment("inventree"), source: source, running: ["inventree-cache", "inventree-db", "inventree-server", "inventree-worker"]))
        case .restoreDump:
            let restoreDeployment = try deployment("named-volume")
            let source = RestoreContext.Source.dump(path: restoreDeployment.directory + "/backups/named-volume-postgres-20261130-020000-c3d4.dump", media: nil)
            plan = try planned(try RecordedWorlds.restore(restoreDeployment, source: source, running: ["db", "web"]))
        case .importRecords:
            plan = try RecordsImportPlanner(world: try RecordedWorlds.recordsImport(try deployment("inventree"), version: InvenTreeVersion(1, 0, 0)))
                .plan(command: "import -f /srv/exports/records.json --clear").plan
        case .transferMedia:
            let target = try deployment("inventree", as: "inventree-new")
            plan = try TransferPlanner(world: try RecordedWorlds.transfer(source: try deployment("inventree"), target: target, includeMedia: true))
                .plan(command: "transfer --to /srv/inventree-new --include-media").plan
        }
        func normalise(_ text: String) -> String { deployments.reduce(text) { $1.normalise($0) } }
        let commands = planningRunners.flatMap { ($0 as? RecordingRunner)?.commands.map { $0.rendered() } ?? ["not a recording runner"] }
        return Rendered(plan: plan, text: normalise(plan.renderText()), json: normalise(String(decoding: try plan.jsonData(), as: UTF8.self)), commandsRun: commands)
    }
}

/// Golden plans of every planner (issue #19 item 6): each variant's `--dry-run` text (and JSON for some) is
/// compared with its committed file; `UPSHIFT_UPDATE_GOLDEN=1` rewrites the files instead.
struct GoldenPlanTests {
    @Test(arguments: GoldenPlan.allCases)
    func planMatchesItsGoldenFile(_ variant: GoldenPlan) async throws {
        let rendered = try await variant.render()
        try rendered.plan.validate()
        #expect(rendered.plan.runID == RecordedWorlds.runID)
        for secret in GoldenPlan.fixtureSecrets {
            #expect(!rendered.text.contains(secret) && !rendered.json.contains(secret), "the plan shows a fixture password")
        }
        #expect(!rendered.text.contains("upshift-golden-") && !rendered.json.contains("upshift-golden-"), "a temp path is left in the plan")
        #expect(rendered.commandsRun.isEmpty, "planning ran commands")
        GoldenFile.check(rendered.text, variant.rawValue + ".txt")
        if variant.keepsJSON {
            GoldenFile.check(rendered.json, variant.rawValue + ".json")
            #expect(try Plan.decode(Data(rendered.json.utf8)).renderText() == rendered.text, "plan.json does not decode to the plan shown")
        }
    }

    /// Each golden comparison can fail: the plan with one line changed is reported, with that line in the diff.
    @Test(arguments: GoldenPlan.allCases)
    func aChangedLineIsReported(_ variant: GoldenPlan) async throws {
        let text = try await variant.render().text
        var lines = text.components(separatedBy: "\n")
        let index = lines.count / 2
        let original = lines[index]
        lines[index] = original + " (changed)"
        let diff = try #require(GoldenFile.mismatch(lines.joined(separator: "\n"), expected: text, label: variant.rawValue))
        #expect(diff.contains("\n-\(original)\n+\(original) (changed)"), "\(diff)")
        #expect(diff.components(separatedBy: "\n").filter { $0.hasPrefix("-") || $0.hasPrefix("+") }.count == 4, "only the one line (and the headers): \(diff)")
        #expect(GoldenFile.mismatch(text, expected: text, label: variant.rawValue) == nil)
    }

    @Test func goldenDiffShowsContextAndBothSides() {
        let expected = (1...10).map { "line \($0)" }.joined(separator: "\n")
        let actual = expected.replacingOccurrences(of: "line 6", with: "line six").replacingOccurrences(of: "line 7\n", with: "")
        let diff = GoldenFile.diff(expected: expected, actual: actual, label: "x.txt")
        #expect(diff == """
            --- x.txt (golden)
            +++ x.txt (actual)
            @@ -3,5 +3,4 @@
             line 3
             line 4
             line 5
            -line 6
            -line 7
            +line six
             line 8
             line 9
             line 10
            """)
    }
}
