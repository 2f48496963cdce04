import ArgumentParser
import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift export -f FILE`: InvenTree's export-records, with the file landing on the host (not in a
    /// throw-away container), checked to be whole and valid JSON, and its record counts printed and audited.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export all InvenTree records to a JSON file on the host (invoke export-records).",
            discussion: """
                Runs `invoke export-records` with the long flags of the running InvenTree version in a throw-away \
                server container, writing into the data volume, then copies the file to FILE (SHA-256 checked), \
                removes it from the volume, checks it is valid JSON and prints the records per model. The database is \
                only read. Options the running version does not have are refused before anything runs.

                Example:
                  upshift -C /srv/inventree export -f /backups/inventree-records.json
                """)

        @OptionGroup var project: RecordsProjectOptions

        @Option(name: [.short, .customLong("filename")], help: "The JSON file to write on the host.")
        var file: String

        @Flag(name: .customLong("include-tokens"), help: "Include API tokens.") var includeTokens = false
        @Flag(name: .customLong("exclude-plugins"), help: "Exclude plugin data.") var excludePlugins = false
        @Flag(name: .customLong("include-email"), help: "Include email logs (InvenTree 1.2+; 1.0 and 1.1 always include them).") var includeEmail = false
        @Flag(name: .customLong("include-sso"), help: "Include SSO token data.") var includeSSO = false
        @Flag(name: .customLong("include-permissions"), help: "Include user and group permissions (InvenTree 0.14+; refused on 0.14 to 0.17, whose export of them is empty).") var includePermissions = false
        @Flag(name: .customLong("overwrite"), help: "Replace FILE when it exists.") var overwrite = false
        @Flag(name: .customLong("include-session"), help: "Include user sessions (InvenTree 1.0+).") var includeSession = false
        @Flag(name: .customLong("verbose"), help: "Verbose output from the management commands (InvenTree 1.3+).") var verbose = false

        var options: ExportRecordsOptions {
            ExportRecordsOptions(includeTokens: includeTokens, excludePlugins: excludePlugins, includeEmail: includeEmail, includeSSO: includeSSO,
                                 includePermissions: includePermissions, includeSession: includeSession, verbose: verbose)
        }

        func run() async throws {
            ChildProcessRegistry.shared.installSignalHandlers()
            let runner = try await project.runner()
            let hostPath = URL(fileURLWithPath: file).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: hostPath) && !overwrite {
                throw UpshiftError.usage("\(hostPath) already exists", hint: "add --overwrite to replace it, or choose another file")
            }
            let parent = (hostPath as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw UpshiftError.usage("the directory \(parent) does not exist")
            }
            let project = try await ComposeProject.load(options: self.project.composeOptions, runner: runner)
            let endpoint = try InvenTreeEndpoint(project: project, runner: runner)
            let runID = RunID.make()
            let command = "export -f \(hostPath)"
            let lock = try ProjectLock.acquire(projectDirectory: endpoint.directory, command: command, runID: runID)
            defer { lock.release() }
            let audit = try AuditBridge(projectDirectory: endpoint.directory, runID: runID, command: command, secrets: [endpoint.database.password])
            try audit.started(["project": project.name])
            let reporter = RunReporter(audit: audit.sink)
            let result: RecordsExportResult
            do {
                let running = try await endpoint.compose.runningServices()
                guard running.contains(endpoint.database.service) else {
                    throw UpshiftError.usage("the database service \(endpoint.database.service) of \(project.name) is not running", hint: "start it with `docker compose up -d`")
                }
                reporter.emit("asking \(endpoint.server) for its version (invoke version)")
                let version = try await endpoint.version()
                try InvenTreeReleases.requireSupported(version, for: "export records from")
                _ = try RecordsFlags(version: version).exportArguments(filename: "x", options: options)
                reporter.emit("InvenTree \(version): exporting records")
                result = try await RecordsExport(endpoint: endpoint, version: version, options: options, runID: runID)
                    .run(to: hostPath, overwrite: overwrite, progress: { reporter.emit("  \($0)") })
            } catch {
                audit.refused(error)
                throw error
            }
            audit.note("records.exported", [
                "file": result.path, "sha256": result.sha256, "bytes": String(result.file.bytes), "inventree_version": "\(result.version)",
                "records": String(result.file.totalRecords), "counts": result.file.countsText,
            ])
            audit.note(AuditEvent.runFinished, ["outcome": "succeeded"])
            print("Exported \(result.file.totalRecords) records of \(result.file.counts.count) models from InvenTree \(result.version) to \(result.path)")
            print("  sha256 \(result.sha256), \(ByteFormat.string(Int64(result.file.bytes)))" + (result.file.metadata == nil ? "" : ", metadata header present"))
            for line in result.file.countLines { print("  \(line)") }
        }
    }
}
