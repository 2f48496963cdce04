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

    /// The steps of the configured method, decisions holding their branches.
    func steps() throws -> [ExecutableStep] {
        switch world.context.options.method {
        case .invoke: return try InvokeUpgradeSteps(world: world, environment: environment).steps()
        case .pgUpgrade: return try Self.steps(world, window: PgUpgradeMethodSteps(world: world, environment: environment).window)
        case .dump: return try Self.steps(world, window: dumpWindow)
        }
    }

    /// The dump method's window, for the branch it runs in.
    ///
    /// `subscribed` (a replica followed the writing application and caught up) needs no dump: the old cluster
    /// is only renamed aside. Its replica is verified in proportion to what changed, then renamed into place
    /// like the cluster `prepared` restored before the window.
    func dumpWindow(_ path: WindowPath) throws -> [ExecutableStep] {
        if path == .subscribed {
            return try Self.replicaWindow(world, environment: environment, start: StartNewDatabaseStep(world: world, onPrepared: true, finalForm: StartNewDatabaseStep.startsInFinalForm(world, on: path)).executable)
        }
        let prepared = path == .prepared
        var steps = [try DumpClusterStep(world: world, source: path == .changed ? .window : .snapshot).executable]
        steps += try [
            StopDatabaseStep(world: world).executable,
            MoveDataAsideStep(world: world, placesPrepared: prepared).executable,
            SwitchImageStep(world: world, environment: environment).executable,
            StartNewDatabaseStep(world: world, onPrepared: prepared, finalForm: StartNewDatabaseStep.startsInFinalForm(world, on: path)).executable,
        ]
        if prepared {
            steps.append(try ProvePreparedClusterStep(world: world).executable)
        } else {
            steps += try [
                RestoreDumpStep(world: world).executable,
                AnalyzeStep(world: world).executable,
                FingerprintStep(world: world).executable,
            ]
        }
        return steps
    }

    /// The `subscribed` window of both methods: the replica checked, stopped with the old server, renamed
    /// into place and proved; only the step that starts it differs (`start`: the dump method's replica is
    /// started as is, the pg_upgrade method's also gets its post-upgrade care).
    ///
    /// The check before the old server stops is one step (`VerifySubscriberStep`): the old cluster's tables
    /// changed since the snapshot and the replica's written since its fingerprint are scanned at once and
    /// compared, so that neither server waits for the other.
    static func replicaWindow(_ world: PgUpgradeWorld, environment: [String: String], start: ExecutableStep) throws -> [ExecutableStep] {
        try [
            VerifySubscriberStep(world: world, savesWindowEnd: StartNewDatabaseStep.startsInFinalForm(world, on: .subscribed)).executable,
            StopDatabaseStep(world: world, withReplica: true).executable,
            MoveDataAsideStep(world: world, placesPrepared: true).executable,
            SwitchImageStep(world: world, environment: environment).executable,
            start,
            ProvePreparedClusterStep(world: world).executable,
        ]
    }

    /// The plan of the dump and pg_upgrade methods: the opening, then, for the branch it runs in, the window
    /// built by `window`, extensions and the stack (`finish`).
    ///
    /// Without online preparation there is nothing to decide: the window does everything. With it, the
    /// work before the window (the snapshot's dump and fingerprint, and where the new cluster fits in the
    /// service's mount, the staged cluster) is followed, inside the window, by `CheckSnapshotStep`, the one
    /// decision that picks the branch: `prepared`, `snapshot` or `changed` (`WindowPath`).
    static func steps(_ world: PgUpgradeWorld, window build: (WindowPath) throws -> [ExecutableStep]) throws -> [ExecutableStep] {
        func window(_ path: WindowPath) throws -> [ExecutableStep] { try build(path) + finish(world, path) }
        var steps = [try SnapshotFilesStep(world: world).executable]
        let stop = try [
            StopServicesStep(world: world).executable,
            IsolateDatabaseStep(world: world).executable,
        ]
        let fingerprint = try FingerprintStep.before(world).executable
        if PrepareOnlineStep.applies(world) {
            steps.append(try PrepareOnlineStep(world: world).executable)
            let stages = StagedCluster.applies(world)
            if stages {
                steps += world.context.options.method == .pgUpgrade
                    ? try StagedUpgrade(world: world).steps()
                    : [try StageNewClusterStep(world: world).executable]
            }
            let subscribes = StageSubscriberStep.applies(world)
            if subscribes { steps.append(try StageSubscriberStep(world: world).executable) }
            let subscribed = subscribes || (stages && world.context.options.method == .pgUpgrade && StagedUpgrade.followsLogically(world))
            var branches: [ExecutableBranch] = []
            if stages { branches.append(ExecutableBranch(WindowPath.prepared.rawValue, when: WindowPath.prepared.when, steps: try window(.prepared))) }
            branches.append(ExecutableBranch(WindowPath.snapshot.rawValue, when: WindowPath.snapshot.when, steps: try window(.snapshot)))
            if stages && world.context.options.method == .pgUpgrade {
                let changedOnly = try FingerprintChangedTablesStep(world: world).executable
                branches.append(ExecutableBranch(WindowPath.standby.rawValue, when: WindowPath.standby.when, steps: [changedOnly] + (try window(.standby))))
            }
            if subscribed {
                branches.append(ExecutableBranch(WindowPath.subscribed.rawValue, when: WindowPath.subscribed.when, steps: try window(.subscribed)))
            }
            let discard = stages ? [try DiscardStagedStep(world: world).executable] : []
            branches.append(ExecutableBranch(WindowPath.changed.rawValue, when: WindowPath.changed.when, steps: discard + [fingerprint] + (try window(.changed))))
            steps += stop + [try CheckSnapshotStep(world: world, stages: stages).deciding(branches)]
        } else {
            steps += stop + [fingerprint] + (try window(.changed))
        }
        return steps
    }

    /// The end of every branch: extensions, then the stack. Built per branch because start-stack must know
    /// whether the branch already started the new server from the user's files (nothing to recreate).
    static func finish(_ world: PgUpgradeWorld, _ path: WindowPath) throws -> [ExecutableStep] {
        let extensions = UpdateExtensionsStep.applies(world) ? [try UpdateExtensionsStep(world: world).executable] : []
        return extensions + [try StartStackStep(world: world, serverInFinalForm: StartNewDatabaseStep.startsInFinalForm(world, on: path)).executable]
    }

    /// The opening of a window with no online preparation: snapshot the files, stop the application,
    /// isolate the database and fingerprint it (`--method invoke`).
    static func openingSteps(_ world: PgUpgradeWorld) throws -> [ExecutableStep] {
        try [
            SnapshotFilesStep(world: world).executable,
            StopServicesStep(world: world).executable,
            IsolateDatabaseStep(world: world).executable,
            FingerprintStep.before(world).executable,
        ]
    }

    /// The plan, built once and validated; `--dry-run` prints its `plan`, and a run executes it.
    public func plan() throws -> ExecutablePlan {
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
        return try ExecutablePlan(
            runID: context.runID, command: "pg-upgrade --to \(context.options.targetMajor)", projectDirectory: context.project.location.directory,
            summary: summary, steps: try steps())
    }
}
