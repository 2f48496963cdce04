import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Gathers the fleet view: for each docker context, every compose deployment its engine knows, with the
/// database majors in the image and on disk, what past runs kept, and the last run. Nothing is changed.
///
/// Each deployment is read with the same code as `upshift status` (`StatusCollector`) and `upshift prune`
/// (`PruneInventory`), so the fleet view and the single-project views cannot disagree. A context or a
/// deployment that cannot be read becomes a row saying why; the others are still listed.
public struct FleetCollector: Sendable {
    public var targets: [FleetTarget]
    /// The runner every target's runner wraps (each target adds its engine, `DockerEngineRunner`).
    public var runner: any CommandRunning
    /// `--db-service`, for deployments with several postgres services.
    public var dbService: String?
    public var environment: [String: String]
    /// Whether a directory exists on this host (a seam for tests; compose files must be readable here).
    public var directoryExists: @Sendable (String) -> Bool

    public init(
        targets: [FleetTarget], runner: any CommandRunning, dbService: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directoryExists: @escaping @Sendable (String) -> Bool = { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    ) {
        self.targets = targets
        self.runner = runner
        self.dbService = dbService
        self.environment = environment
        self.directoryExists = directoryExists
    }

    /// All rows, contexts in the order given, deployments by project name. Never throws: failures are rows.
    /// Contexts are read one after another: helper containers on a shared host are slow enough already.
    public func collect() async -> [FleetRow] {
        var rows: [FleetRow] = []
        for target in targets { rows += await collect(target) }
        return rows
    }

    /// The rows of one context.
    func collect(_ target: FleetTarget) async -> [FleetRow] {
        let engineRunner = DockerEngineRunner(base: runner, engine: target.engine)
        let deployments: [FleetDeployment]
        do {
            let listing = try await engineRunner.run(FleetDeployment.listCommand)
            guard listing.termination.isSuccess else {
                let reason = listing.timedOut
                    ? "the engine did not answer docker ps within \(FleetDeployment.listCommand.timeout.map { "\($0)" } ?? "the time limit")"
                    : Self.firstLine(listing.stderrText, or: "docker ps \(listing.termination)")
                return [.unreachable(target.context, because: reason)]
            }
            deployments = FleetDeployment.parse(listing.stdoutText)
        } catch {
            return [.unreachable(target.context, because: Self.describe(error))]
        }
        guard !deployments.isEmpty else { return [] }
        // An engine on another host labels its containers with the directory compose ran in, on whichever
        // machine that was; the same path here may be another project's files, read against the wrong engine.
        // Such rows keep the labels and say how to read the project where its files are.
        if let endpoint = try? await EngineEndpoint.current(runner: engineRunner), !endpoint.isLocal {
            return deployments.map {
                FleetRow(
                    context: target.context, project: $0.project, workingDirectory: $0.workingDirectory,
                    error: "the engine is at \(endpoint.host), not on this host: its labels name the directory compose ran in, which may be another machine's; where the compose files are, run upshift --context \(target.context) -C \($0.workingDirectory.isEmpty ? "DIR" : ShellQuote.quote($0.workingDirectory)) status")
            }
        }
        let tool: ComposeTool
        do {
            tool = try await ComposeCLI.detect(runner: engineRunner, environment: environment)
        } catch {
            return deployments.map { FleetRow(context: target.context, project: $0.project, workingDirectory: $0.workingDirectory, error: Self.describe(error)) }
        }
        var rows: [FleetRow] = []
        for deployment in deployments {
            rows.append(await row(deployment, context: target.context, runner: engineRunner, tool: tool))
        }
        return rows
    }

    /// One deployment's row: its compose project loaded from the labels' files, then status and kept data.
    func row(_ deployment: FleetDeployment, context: String, runner: any CommandRunning, tool: ComposeTool) async -> FleetRow {
        var row = FleetRow(context: context, project: deployment.project, workingDirectory: deployment.workingDirectory)
        guard !deployment.workingDirectory.isEmpty, directoryExists(deployment.workingDirectory) else {
            row.error = "its compose directory \(deployment.workingDirectory) is not on this host (run upshift where the project lives)"
            return row
        }
        let status: ProjectStatus
        let project: ComposeProject
        do {
            let options = ComposeOptions(
                projectDirectory: deployment.workingDirectory, files: deployment.configFiles, projectName: deployment.project,
                envFiles: deployment.environmentFiles, dbService: dbService)
            project = try await ComposeProject.load(
                options: options, runner: runner, tool: tool, environment: environment, currentDirectory: deployment.workingDirectory)
            status = try await StatusCollector(
                project: project, runner: runner, environment: environment,
                lastRuns: { AuditTrail.lastRuns(projectDirectory: $0, limit: 1) }
            ).collect()
        } catch {
            row.error = Self.describe(error)
            return row
        }
        let db = status.database
        row.databaseService = db.service.service
        row.image = db.service.imageText
        row.imageMajor = db.service.imageMajor
        row.diskMajor = db.onDisk?.major
        if let shadow = db.imageVolumeShadow {
            row.diskNote = "in the image's own VOLUME \(shadow.imageVolume), not on \(shadow.mountSummary)"
        } else if let probe = db.onDisk {
            if probe.major == nil { row.diskNote = probe.summary }
        } else {
            row.diskNote = db.probeError ?? "not checked"
        }
        if let run = status.lastRuns?.first {
            row.lastRun = FleetRow.LastRun(
                id: run.runID, kind: run.command.split(separator: " ").first.map(String.init) ?? run.command,
                outcome: run.outcome, startedAt: run.startedAt)
        }
        let inventory = await PruneInventory.forProject(project, database: db.service, runner: runner)
        if let kept = try? await inventory.collect() {
            row.keptItems = kept.count
            row.keptBytes = kept.reduce(Int64(0)) { $0 + ($1.sizeBytes ?? 0) }
        }
        return row
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? UpshiftError { return error.message }
        return "\(error)"
    }

    /// The first non-empty line of a tool's stderr: docker's reason, without its usage text.
    static func firstLine(_ text: String, or fallback: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? fallback
    }
}
