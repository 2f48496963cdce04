import ArgumentParser
import Foundation
import UpshiftCore
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift prune`: what past runs kept (old clusters, dumps, leftovers), with sizes, and — only on an
    /// explicit selection and a confirmation — their removal, as a journaled and audited run of its own.
    ///
    /// Runs never delete (the old cluster is kept until the user decides), so this is the one place where
    /// upshift deletes data; hence the guards: never the live cluster, never while a run is open, only
    /// what a run of this project created.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List what past runs kept (old clusters, dumps, leftovers) and remove the ones you choose.",
            discussion: """
                Without --run or --all nothing is removed. Removal cannot be undone: a run whose old cluster
                or dump is removed can no longer be rolled back. The cluster in use is never removed.

                Example:
                  upshift -C /srv/inventree prune
                  upshift -C /srv/inventree prune --run 20261128-134501-ab12
                  upshift -C /srv/inventree prune --all --yes
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("run"), help: "Remove what this run kept (repeatable).")
        var runs: [String] = []

        @Flag(help: "Remove everything removable that past runs kept.")
        var all = false

        @Flag(help: "Skip the per-item confirmation (required when stdin is not a terminal).")
        var yes = false

        @Flag(name: .customLong("dry-run"), help: "Print the removal plan and change nothing.")
        var dryRun = false

        @Flag(help: "The listing as JSON.")
        var json = false

        @Option(help: "How progress is shown on stderr: auto (tty on a terminal, else plain), plain, tty or json (JSON Lines).")
        var progress: ProgressMode = .auto

        func validate() throws {
            if all && !runs.isEmpty { throw ValidationError("--all and --run exclude each other") }
            for run in runs where RunID(run) == nil { throw ValidationError("not a run id: \(run)") }
        }

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await global.runner()
            let project = try await ComposeProject.load(options: global.composeOptions, runner: runner)
            let database = try project.database()
            let selection: PrunePlanner.Selection? = all ? .all : runs.isEmpty ? nil : .runs(runs.compactMap(RunID.init))
            guard let selection else {
                let items = try await inventory(project: project, database: database, runner: runner).collect()
                print(json ? try Self.json(items) : Self.table(items, directory: project.location.directory))
                return
            }
            let command = PruneRecord.command + (all ? " --all" : runs.map { " --run \($0)" }.joined())
            // The lock first (and the refusal of a half-finished run), then the inventory: nothing can start
            // or change what a run kept between the listing and the removal.
            let session = try RunSession(project: project, command: command, dryRun: dryRun, secrets: [database.password], progress: progress)
            defer { session.close() }
            let redactor = Redactor(protecting: [database.password])
            let (planner, chosen) = try await session.preflight {
                try PrunePlanner.refuseOpenRun(projectDirectory: project.location.directory)
                let inventory = try await inventory(project: project, database: database, runner: runner)
                let planner = PrunePlanner(inventory: inventory, items: try await inventory.collect(), runID: session.runID, command: command, redactor: redactor)
                let chosen = try planner.select(selection)
                for (item, reason) in chosen.refused {
                    FileHandle.standardError.write(Data("not removing the \(item.kind.label) of run \(item.runID) (\(item.location)): \(reason)\n".utf8))
                }
                guard !chosen.remove.isEmpty else { throw UpshiftError("nothing to prune", exitCode: .ok) }
                return (planner, chosen.remove)
            }
            if dryRun { return try session.printDryRun(try planner.plan(chosen).plan, json: json, redactor: redactor) }
            let confirmed: [KeptItem]
            do {
                confirmed = try confirm(chosen)
            } catch {
                session.audit.refused(error)
                throw error
            }
            guard !confirmed.isEmpty else {
                session.audit.note(AuditEvent.runFinished, ["outcome": "cancelled"])
                FileHandle.standardError.write(Data("nothing selected; nothing was changed\n".utf8))
                return
            }
            let outcome = try await session.execute(
                plan: try planner.plan(confirmed), folder: try session.folder(create: true),
                registry: .upshift(runner: runner), redactor: redactor, question: "Delete these \(confirmed.count) item(s) for good?", yes: true)
            let freed = confirmed.reduce(Int64(0)) { $0 + ($1.sizeBytes ?? 0) }
            guard outcome.status == .succeeded else {
                throw UpshiftError(
                    redactor.redact("prune stopped at step \(outcome.failedStep ?? "?"): \(outcome.error ?? "unknown error"); the items before it are removed (run \(session.runID), `upshift log --run \(session.runID)`)"),
                    exitCode: outcome.exitCode)
            }
            FileHandle.standardError.write(Data("\npruned \(confirmed.count) item(s), \(ByteFormat.string(freed)) freed (run \(session.runID)); this cannot be undone\n".utf8))
        }

        /// The inventory (`PruneInventory.forProject`, shared with the fleet view).
        func inventory(project: ComposeProject, database: DatabaseService, runner: any CommandRunning) async throws -> PruneInventory {
            await PruneInventory.forProject(project, database: database, runner: runner)
        }

        /// `--yes` takes the selection as it is; otherwise each item is asked for, `y/N`, on a terminal.
        func confirm(_ items: [KeptItem]) throws -> [KeptItem] {
            if yes { return items }
            guard isatty(STDIN_FILENO) == 1 else {
                throw UpshiftError.usage("refusing to delete anything without confirmation: stdin is not a terminal", hint: "add --yes to run unattended")
            }
            var confirmed: [KeptItem] = []
            for item in items {
                let size = item.sizeBytes.map { ", \(ByteFormat.string($0))" } ?? ""
                let warning = item.neededForRollback ? " — `upshift rollback --run \(item.runID)` needs it" : ""
                FileHandle.standardError.write(Data("Delete the \(item.kind.label) of run \(item.runID), \(item.location)\(size)\(warning)? [y/N] ".utf8))
                let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
                if answer == "y" || answer == "yes" { confirmed.append(item) }
            }
            return confirmed
        }

        static func table(_ items: [KeptItem], directory: String) -> String {
            guard !items.isEmpty else { return "nothing kept by past runs of \(directory)" }
            let header = ["WHAT", "RUN", "SIZE", "ROLLBACK", "WHERE"]
            let rows = items.map { item in
                [item.kind.label, item.runID.rawValue, item.sizeBytes.map(ByteFormat.string) ?? "?",
                 item.refusal != nil ? "in use" : item.neededForRollback ? "needed" : "-", item.location]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            func line(_ fields: [String]) -> String {
                fields.enumerated().map { $0.offset == fields.count - 1 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ")
            }
            var lines = [line(header)] + rows.map(line)
            let total = items.filter(\.isRemovable).reduce(Int64(0)) { $0 + ($1.sizeBytes ?? 0) }
            lines.append("")
            lines.append("\(items.count) item(s), \(ByteFormat.string(total)) removable. Remove with: upshift -C \(ShellQuote.quote(directory)) prune --run ID | --all")
            if items.contains(where: \.neededForRollback) {
                lines.append("\"needed\": `upshift rollback` of the latest run uses it; once removed, that rollback is refused.")
            }
            for item in items { if let refusal = item.refusal { lines.append("never removed: \(item.location): \(refusal)") } }
            return lines.joined(separator: "\n")
        }

        static func json(_ items: [KeptItem]) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(items), as: UTF8.self)
        }
    }
}
