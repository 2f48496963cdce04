import Foundation

/// Turns a preflighted context into the executable plan of `pg-upgrade --method dump`, in the order of the
/// procedure: snapshot, stop the app, isolate the db, fingerprint, dump, stop, move aside, switch image,
/// start new, restore, analyze, verify, start the stack.
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
        case .pgUpgrade: return try PgUpgradeMethodSteps(world: world, environment: environment).steps()
        case .dump: break
        }
        return try Self.openingSteps(world) + [
            ExecutableStep(DumpClusterStep.planned(world), action: DumpClusterStep(world: world)),
            ExecutableStep(StopDatabaseStep.planned(world), action: StopDatabaseStep(world: world)),
            ExecutableStep(try MoveDataAsideStep.planned(world), action: MoveDataAsideStep(world: world)),
            ExecutableStep(try SwitchImageStep.planned(world, environment: environment), action: SwitchImageStep(world: world, environment: environment)),
            ExecutableStep(try StartNewDatabaseStep.planned(world), action: StartNewDatabaseStep(world: world)),
            ExecutableStep(RestoreDumpStep.planned(world), action: RestoreDumpStep(world: world)),
            ExecutableStep(AnalyzeStep.planned(world), action: AnalyzeStep(world: world)),
            ExecutableStep(FingerprintStep.planned(world, phase: .after), action: FingerprintStep(world: world, phase: .after)),
        ] + (UpdateExtensionsStep.applies(world) ? [ExecutableStep(UpdateExtensionsStep.planned(world), action: UpdateExtensionsStep(world: world))] : []) + [
            ExecutableStep(try StartStackStep.planned(world), action: StartStackStep(world: world)),
        ]
    }

    /// The start every method shares: snapshot the files, [dump and fingerprint from a snapshot while the
    /// application serves,] stop the application, isolate the database and fingerprint it (or prove the
    /// online fingerprint still holds), so the window opens the same way whatever moves the data.
    static func openingSteps(_ world: PgUpgradeWorld) throws -> [ExecutableStep] {
        var steps = [ExecutableStep(SnapshotStep.planned(world), action: SnapshotStep(world: world))]
        if PrepareOnlineStep.applies(world) {
            steps.append(ExecutableStep(try PrepareOnlineStep.planned(world), action: PrepareOnlineStep(world: world)))
        }
        return steps + [
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
        return Plan(runID: context.runID, command: "pg-upgrade --to \(context.options.targetMajor)", projectDirectory: context.project.location.directory, summary: summary, steps: try steps().map(\.planned))
    }
}
