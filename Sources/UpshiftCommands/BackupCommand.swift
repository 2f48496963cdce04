import ArgumentParser
import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift backup`: InvenTree's `invoke backup` with the exact file names recorded, hashed, printed and
    /// audited; other applications get a tool-level `pg_dump -Fc` (+ media tar) in `<project>/backups`.
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up the application's database (and media): invoke backup for InvenTree, pg_dump -Fc otherwise.",
            discussion: """
                Example:
                  upshift -C /srv/inventree backup
                  upshift -C /srv/app backup --media ./uploads
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("backup-dir"), help: "Where tool-level backups and the record go (default: <project>/backups).")
        var backupDirectory: String?

        @Option(name: .customLong("media"), help: "Generic deployments: a host directory to archive beside the dump.")
        var mediaDirectory: String?

        @Flag(help: "Accepted for symmetry with restore; a backup changes nothing and never asks.")
        var yes = false

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await global.runner()
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            let directory = project.location.directory
            let runID = RunID.make()
            let lock = try ProjectLock.acquire(projectDirectory: directory, command: "backup", runID: runID)
            defer { lock.release() }
            let password = try? project.database().password
            let audit = try AuditBridge(projectDirectory: directory, runID: runID, command: "backup", secrets: [password])
            try audit.started(["project": project.name])
            let reporter = RunReporter(audit: audit.sink)
            let result: BackupRunner.Result
            do {
                result = try await BackupRunner(project: project, runner: runner, runID: runID, backupDirectory: backupDirectory,
                                                mediaDirectory: mediaDirectory, progress: { reporter.emit($0) }).run()
            } catch {
                audit.refused(error)
                throw error
            }
            var lines: [String] = []
            if let record = result.inventree {
                lines.append("InvenTree \(record.version) backup in \(record.hostDirectory ?? record.directory):")
                lines += record.lines.map { "  \($0)" }
                if let db = record.databaseFile {
                    lines.append("restore with: upshift -C \(ShellQuote.quote(directory)) restore --db-file \(db)" + (record.mediaFile.map { " --media-file \($0)" } ?? ""))
                }
                audit.note(AuditEvent.runFinished, ["outcome": "succeeded", "database_file": record.databaseFile ?? "", "media_file": record.mediaFile ?? "",
                                                    "files": record.lines.joined(separator: "; "), "record": result.recordPath ?? ""])
            } else {
                lines.append("backup of \(project.name):")
                lines += result.files.map { "  \($0.path)  \(ByteFormat.string($0.bytes))  sha256 \($0.sha256)" }
                if let dump = result.files.first {
                    lines.append("restore with: upshift -C \(ShellQuote.quote(directory)) restore --db-file \(ShellQuote.quote(dump.path))")
                }
                audit.note(AuditEvent.runFinished, ["outcome": "succeeded", "files": result.files.map { "\($0.path) sha256 \($0.sha256)" }.joined(separator: "; ")])
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
