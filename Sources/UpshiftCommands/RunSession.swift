import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// What every journaled command does around its own plan: refuse to start over a half-finished run, take
/// the project lock, audit the start (and any refusal), print a dry run, keep the plan on disk, ask, catch
/// Ctrl-C, journal and execute. One place, so every command that changes something (pg-upgrade, update,
/// restore, import, transfer) behaves alike.
final class RunSession: Sendable {
    let directory: String
    let runID: RunID
    let audit: AuditBridge
    let reporter: RunReporter
    private let locks: [ProjectLock]

    /// - Parameters:
    ///   - project: the project the run changes: its journal, audit log and lock.
    ///   - secrets: values the audit log must mask (the database password).
    ///   - auditFields: more facts for the audit's start record (a transfer's source).
    ///   - readOnlyProjects: other project directories the run reads and must not see changed meanwhile:
    ///     locked too (not for a dry run), before the project itself.
    ///   - progress: how the run's progress is shown on stderr (`--progress`).
    init(
        project: ComposeProject, command: String, dryRun: Bool, secrets: [Secret?], auditFields: [String: String] = [:],
        readOnlyProjects: [String] = [], runID: RunID = RunID.make(), progress: ProgressMode = .auto
    ) throws {
        directory = project.location.directory
        self.runID = runID
        var locks: [ProjectLock] = []
        do {
            if !dryRun {
                for other in readOnlyProjects {
                    locks.append(try ProjectLock.acquire(projectDirectory: other, command: command + " (read)", runID: runID))
                }
            }
            if let lock = try RunGuard.lock(projectDirectory: directory, command: command, runID: runID, dryRun: dryRun) { locks.append(lock) }
        } catch {
            locks.forEach { $0.release() }
            throw error
        }
        self.locks = locks
        audit = try AuditBridge(projectDirectory: directory, runID: runID, command: command + (dryRun ? " --dry-run" : ""), secrets: secrets)
        try audit.started(auditFields.merging(["project": project.name]) { $1 })
        reporter = RunReporter(audit: audit.sink, style: progress.style(), runID: runID)
    }

    deinit { locks.forEach { $0.release() } }

    /// Releases the project locks (also done on deinit; explicit so their lifetime is visible).
    func close() { locks.forEach { $0.release() } }

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

    /// Writes the plan, shows it, asks `question` (unless `yes`), and executes that same plan with the journal.
    func execute(
        plan executable: ExecutablePlan, folder: RunFolder, registry: CompensationRegistry, redactor: Redactor,
        question: String, yes: Bool, rollbackOnFailure: Bool = true, engine: RunEngine? = nil
    ) async throws -> RunOutcome {
        let plan = executable.plan
        try folder.writePlan(plan, redactor: redactor)
        try engine?.write(folder)
        reporter.plan(redactor.redact(plan.renderText()), stepCount: plan.steps.count, path: folder.planPath, confirming: !yes)
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
            plan: executable, journal: journal, registry: registry, runFolder: folder,
            redactor: redactor, options: ExecutorOptions(rollbackOnFailure: rollbackOnFailure, isInterrupted: { interrupted.isSet }),
            onEvent: reporter.handler)
        return await executor.run()
    }
}
