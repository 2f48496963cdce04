import Foundation
import UpshiftPlans
import UpshiftSupport

/// Turns a preflighted context into the executable plan of `pg-upgrade`, in the order of the procedure:
/// snapshot, [prepare before the window,] stop the app, isolate the db, [decide,] fingerprint, dump, stop,
/// move aside, switch image, start new, restore, analyze, verify, start the stack.
public struct PgUpgradePlanner: Sendable {
    public var world: PgUpgradeWorld
    public var environment: [String: String]

    public init(world: PgUpgradeWorld, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.world = world
        self.environment = environment
    }

    public func steps() throws -> [ExecutableStep] {
        switch world.context.options.method {
        case .invoke: return try InvokeUpgradeSteps(world: world, environment: environment).steps()
        case .pgUpgrade: return try Self.steps(world, window: PgUpgradeMethodSteps(world: world, environment: environment).window)
        case .dump: return try Self.steps(world, window: dumpWindow)
        }
    }

    /// The dump method's window, for the branch it runs in.
    func dumpWindow(_ path: WindowPath) throws -> [ExecutableStep] {
        let prepared = path == .prepared
        var steps = [
            ExecutableStep(DumpClusterStep.planned(world, source: path == .changed ? .window : .snapshot), action: DumpClusterStep(world: world, source: path == .changed ? .window : .snapshot)),
            ExecutableStep(StopDatabaseStep.planned(world), action: StopDatabaseStep(world: world)),
            ExecutableStep(try MoveDataAsideStep.planned(world, placesPrepared: prepared), action: MoveDataAsideStep(world: world, placesPrepared: prepared)),
            ExecutableStep(try SwitchImageStep.planned(world, environment: environment), action: SwitchImageStep(world: world, environment: environment)),
            ExecutableStep(try StartNewDatabaseStep.planned(world, onPrepared: prepared), action: StartNewDatabaseStep(world: world, onPrepared: prepared)),
        ]
        if prepared {
            steps.append(ExecutableStep(ProvePreparedClusterStep.planned(world), action: ProvePreparedClusterStep(world: world)))
        } else {
            steps += [
                ExecutableStep(RestoreDumpStep.planned(world), action: RestoreDumpStep(world: world)),
                ExecutableStep(AnalyzeStep.planned(world), action: AnalyzeStep(world: world)),
                ExecutableStep(FingerprintStep.planned(world, phase: .after), action: FingerprintStep(world: world, phase: .after)),
            ]
        }
        return steps
    }

    /// The plan of the dump and pg_upgrade methods: the opening, the window built by `window` for the branch
    /// it runs in, then extensions and the stack.
    ///
    /// Without online preparation there is nothing to decide: the window does everything. With it, the
    /// work before the window (the snapshot's dump and fingerprint, and where the new cluster fits in the
    /// service's mount, the staged cluster) is followed, inside the window, by `CheckSnapshotStep`, the one
    /// decision that picks the branch: `prepared`, `snapshot` or `changed` (`WindowPath`).
    static func steps(_ world: PgUpgradeWorld, window: (WindowPath) throws -> [ExecutableStep]) throws -> [ExecutableStep] {
        var steps = [ExecutableStep(SnapshotStep.planned(world), action: SnapshotStep(world: world))]
        let stop = [
            ExecutableStep(try StopApplicationStep.planned(world), action: StopApplicationStep(world: world)),
            ExecutableStep(try IsolateDatabaseStep.planned(world), action: IsolateDatabaseStep(world: world)),
        ]
        let fingerprint = ExecutableStep(FingerprintStep.planned(world, phase: .before), action: FingerprintStep(world: world, phase: .before))
        if PrepareOnlineStep.applies(world) {
            steps.append(ExecutableStep(try PrepareOnlineStep.planned(world), action: PrepareOnlineStep(world: world)))
            let stages = StagedCluster.applies(world)
            if stages {
                steps += world.context.options.method == .pgUpgrade
                    ? try StagedUpgrade(world: world).steps()
                    : [ExecutableStep(try StageNewClusterStep.planned(world), action: StageNewClusterStep(world: world))]
            }
            var branches: [ExecutableBranch] = []
            if stages { branches.append(ExecutableBranch(WindowPath.prepared.rawValue, when: WindowPath.prepared.when, steps: try window(.prepared))) }
            branches.append(ExecutableBranch(WindowPath.snapshot.rawValue, when: WindowPath.snapshot.when, steps: try window(.snapshot)))
            let discard = stages ? [ExecutableStep(DiscardStagedStep.planned(world), action: DiscardStagedStep(world: world))] : []
            branches.append(ExecutableBranch(WindowPath.changed.rawValue, when: WindowPath.changed.when, steps: discard + [fingerprint] + (try window(.changed))))
            steps += stop + [ExecutableStep(decision: CheckSnapshotStep.planned(world), action: CheckSnapshotStep(world: world, stages: stages), branches: branches)]
        } else {
            steps += stop + [fingerprint] + (try window(.changed))
        }
        if UpdateExtensionsStep.applies(world) {
            steps.append(ExecutableStep(UpdateExtensionsStep.planned(world), action: UpdateExtensionsStep(world: world)))
        }
        return steps + [ExecutableStep(try StartStackStep.planned(world), action: StartStackStep(world: world))]
    }

    /// The opening of a window with no online preparation: snapshot the files, stop the application,
    /// isolate the database and fingerprint it (`--method invoke`).
    static func openingSteps(_ world: PgUpgradeWorld) throws -> [ExecutableStep] {
        [
            ExecutableStep(SnapshotStep.planned(world), action: SnapshotStep(world: world)),
            ExecutableStep(try StopApplicationStep.planned(world), action: StopApplicationStep(world: world)),
            ExecutableStep(try IsolateDatabaseStep.planned(world), action: IsolateDatabaseStep(world: world)),
            ExecutableStep(FingerprintStep.planned(world, phase: .before), action: FingerprintStep(world: world, phase: .before)),
        ]
    }

    public func plan() throws -> Plan {
        let context = world.context
        var summary = [
            "project \(context.project.name) in \(context.project.location.directory)",
            "service \(context.database.service): \(context.database.imageText) -> \(context.targetImage) (PostgreSQL \(context.oldMajor) -> \(context.options.targetMajor)), method \(context.options.method.rawValue)",
            "data: \(context.placement.summary)",
            "databases \(ByteFormat.string(context.databaseBytes)), data directory \(ByteFormat.string(context.dataBytes)); dump to \(context.backupDirectory)",
            "application services stopped during the window: \(context.applicationServices.isEmpty ? "none running" : context.applicationServices.joined(separator: ", "))",
        ]
        switch context.options.method {
        case .pgUpgrade:
            if let tool = context.upgradeTool {
                summary.append("pg_upgrade --\(context.options.mode.rawValue) in \(tool.image) (old binaries \(tool.binOld), new \(tool.binNew)) as uid \(tool.uid), \(context.jobs) jobs")
            }
            summary.append(context.options.mode.destroysOldCluster
                ? "--\(context.options.mode.rawValue): a verified dump is taken first; if the run is undone after the point of no return, the old cluster is rebuilt from it"
                : "--\(context.options.mode.rawValue): the old cluster's files are never modified; undo is a rename")
        case .dump:
            summary.append(context.jobs > 1 ? "parallel dump and restore: pg_dump -Fd -j \(context.jobs) / pg_restore -j \(context.jobs) per database" : "single-stream dump and restore (plain SQL through psql)")
        case .invoke: break
        }
        summary += context.notes
        let plan = Plan(runID: context.runID, command: "pg-upgrade --to \(context.options.targetMajor)", projectDirectory: context.project.location.directory, summary: summary, steps: try steps().map(\.planned))
        try plan.validate()
        return plan
    }
}
