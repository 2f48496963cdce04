import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// What every journaled command does around its own plan: refuse to start over a half-finished run, take
/// the project lock, audit the start (and any refusal), print a dry run, keep the plan on disk, ask, catch
/// Ctrl-C, journal and execute. One place, so pg-upgrade, update, restore and import behave alike.
final class RunSession: Sendable {
    let directory: String
    let runID: RunID
    let audit: AuditBridge
    let reporter: RunReporter
    private let lock: ProjectLock?

    /// - Parameter secrets: values the audit log must mask (the database password).
    init(project: ComposeProject, command: String, dryRun: Bool, secrets: [Secret?], runID: RunID = RunID.make()) throws {
        directory = project.location.directory
        self.runID = runID
        lock = try RunGuard.lock(projectDirectory: directory, command: command, runID: runID, dryRun: dryRun)
        audit = try AuditBridge(projectDirectory: directory, runID: runID, command: command + (dryRun ? " --dry-run" : ""), secrets: secrets)
        try audit.started(["project": project.name])
        reporter = RunReporter(audit: audit.sink)
    }

    deinit { lock?.release() }

    /// Releases the project lock (also done on deinit; explicit so the lock's lifetime is visible).
    func close() { lock?.release() }

    /// Runs a preflight; a refusal is audited before it reaches the user.
    func preflight<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            audit.refused(error)
            throw Refusal.wrap(error)
        }
    }

    /// The run folder: created for a real run, only named for a dry run.
    func folder(create: Bool) throws -> RunFolder {
        create ? try RunFolder.create(projectDirectory: directory, runID: runID) : RunFolder(projectDirectory: directory, runID: runID)
    }

    /// `--dry-run`: the plan on stdout (text or JSON), secrets masked, nothing changed.
    func printDryRun(_ plan: Plan, json: Bool, redactor: Redactor) throws {
        print(json ? redactor.redact(String(decoding: try plan.jsonData(), as: UTF8.self)) : redactor.redact(plan.renderText()))
        audit.note(AuditEvent.runFinished, ["outcome": "dry-run"])
    }

    /// Writes the plan, shows it, asks `question` (unless `yes`), and executes the steps with the journal.
    func execute(
        plan: Plan, steps: [ExecutableStep], folder: RunFolder, registry: CompensationRegistry, redactor: Redactor,
        question: String, yes: Bool, rollbackOnFailure: Bool = true
    ) async throws -> RunOutcome {
        try folder.writePlan(plan, redactor: redactor)
        FileHandle.standardError.write(Data(redactor.redact(plan.renderText()).utf8))
        do {
            try Confirmation.ask(question, yes: yes)
        } catch {
            audit.refused(error)
            throw error
        }
        let interrupted = InterruptFlag()
        let observer = ChildProcessRegistry.shared.addObserver { _ in interrupted.set() }
        defer { ChildProcessRegistry.shared.removeObserver(observer) }
        let journal = try folder.createJournal()
        defer { journal.close() }
        let executor = Executor(
            runID: runID, command: plan.command, steps: steps, journal: journal, registry: registry, runFolder: folder,
            redactor: redactor, options: ExecutorOptions(rollbackOnFailure: rollbackOnFailure, isInterrupted: { interrupted.isSet }),
            onEvent: reporter.handler)
        return await executor.run()
    }
}
