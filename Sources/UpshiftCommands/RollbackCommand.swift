import ArgumentParser
import Foundation
import Synchronization
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift rollback [--run ID]`: undo a run from its journal — a finished one, a failed one left by
    /// `--no-rollback`, or one that was killed at any point.
    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Undo the last (or the given) run: old data directory back, old image tags back, stack restarted, old data verified.",
            discussion: """
                Example:
                  upshift -C /srv/inventree rollback --yes
                  upshift -C /srv/inventree rollback --run 20261128-134501-ab12 --yes
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("run"), help: "The run to undo (default: the latest).")
        var runID: String?

        @Flag(help: "Skip the confirmation prompt (required when stdin is not a terminal).")
        var yes = false

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            var runner = try await global.runner()
            let location = try ComposeDiscovery(currentDirectory: FileManager.default.currentDirectoryPath, environment: ProcessInfo.processInfo.environment)
                .locate(global.composeOptions)
            let directory = location.directory
            let folder: RunFolder
            if let runID {
                guard let id = RunID(runID), FileManager.default.fileExists(atPath: RunFolder(projectDirectory: directory, runID: id).path) else {
                    throw UpshiftError.usage("no run \(runID) in \(RunFolder.runsDirectory(projectDirectory: directory))", hint: "`upshift log` lists the runs")
                }
                folder = try RunFolder.open(projectDirectory: directory, runID: id)
            } else {
                // A prune run has nothing to undo: the latest run is the newest other one.
                guard let latest = PruneRecord.latestUndoableRun(projectDirectory: directory) else {
                    throw UpshiftError.usage("nothing to roll back: no run recorded in \(directory)/.upshift/runs")
                }
                folder = latest
            }
            let lock = try ProjectLock.acquire(projectDirectory: directory, command: "rollback --run \(folder.runID)")
            defer { lock.release() }
            // The run's engine, unless the user named another one (then refused, nothing undone).
            if let engine = RunEngine.load(folder) {
                let environment = ProcessInfo.processInfo.environment
                let named = global.context != nil || !(environment["DOCKER_HOST"] ?? "").isEmpty || !(environment["DOCKER_CONTEXT"] ?? "").isEmpty
                let chosen = try await engine.rollbackRunner(runner, named: named, runID: folder.runID)
                runner = chosen.runner
                if let note = chosen.note { FileHandle.standardError.write(Data((note + "\n").utf8)) }
            }

            // The password is only needed to mask it: a project compose cannot read must not block a rollback.
            let password = try? await ComposeProject.load(options: global.composeOptions, runner: runner).database().password
            let audit = try AuditBridge(projectDirectory: directory, runID: RunID.make(), command: "rollback --run \(folder.runID)", secrets: [password])
            try audit.started(["undoes": folder.runID.rawValue])
            let reporter = RunReporter(audit: audit.sink)
            let undo = UpshiftPlans.Rollback(folder: folder, registry: .upshift(runner: runner), redactor: Redactor(protecting: [password]), onEvent: reporter.handler)
            let pending = try undo.pending()
            do {
                try undo.refuseIfPruned()
                try undo.checkFiles()
            } catch let error as UpshiftError {
                audit.refused(error)
                throw UpshiftError(error.message, hint: (error.hint.map { $0 + "; " } ?? "") + "nothing was rolled back", exitCode: .usage)
            }
            guard !pending.isEmpty else {
                FileHandle.standardError.write(Data("run \(folder.runID): nothing left to undo\n".utf8))
                return
            }
            FileHandle.standardError.write(Data(("will undo, latest first:\n" + pending.map { "  \($0.id): \($0.compensation?.description ?? "")" }.joined(separator: "\n") + "\n").utf8))
            try Confirmation.ask("Roll back run \(folder.runID)?", yes: yes)
            let report = try await undo.run()
            audit.note(AuditEvent.runFinished, ["outcome": report.isComplete ? "rolled-back" : "rollback-incomplete", "undone": report.compensated.joined(separator: ",")])
            guard report.isComplete else {
                throw UpshiftError(
                    "rollback of run \(folder.runID) is incomplete: \(report.failure.map { "\($0.step): \($0.error)" } ?? "")\n  still to undo: \(report.remaining.joined(separator: ", "))",
                    hint: "fix the cause and run the same command again; finished steps are not repeated", exitCode: .failedRollbackIncomplete)
            }
            FileHandle.standardError.write(Data("rollback of run \(folder.runID) complete: \(report.compensated.count) steps undone\(report.irreversible.isEmpty ? "" : "; kept: \(report.irreversible.joined(separator: ", "))")\n".utf8))
        }
    }
}
