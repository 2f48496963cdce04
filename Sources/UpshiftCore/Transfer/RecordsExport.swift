import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// A finished export: the host file, its hash and what it holds.
public struct RecordsExportResult: Sendable {
    public var path: String
    public var sha256: String
    public var file: RecordsFile
    public var version: InvenTreeVersion
}

/// `invoke export-records` in a throw-away server container, into the data volume
/// (`<data>/backup/upshift-export-<run>.json`, never the container's own file system, which `--rm` throws
/// away), then streamed to the host file, checked to be whole (SHA-256 on both sides) and valid JSON, and
/// removed from the volume. The deployment's database is only read.
public struct RecordsExport: Sendable {
    public var endpoint: InvenTreeEndpoint
    public var version: InvenTreeVersion
    public var options: ExportRecordsOptions
    public var runID: RunID

    public init(endpoint: InvenTreeEndpoint, version: InvenTreeVersion, options: ExportRecordsOptions, runID: RunID) {
        self.endpoint = endpoint
        self.version = version
        self.options = options
        self.runID = runID
    }

    public var containerPath: String { InvenTreeEndpoint.backupDirectory + "/upshift-export-\(runID.rawValue).json" }

    /// The task's command line (for plans and `--dry-run`).
    public func command() throws -> Command {
        endpoint.tasks.invokeCommand(try RecordsFlags(version: version).exportArguments(filename: containerPath, options: options))
    }

    /// Exports to `hostPath`, replacing it only when `overwrite` (the new file is written beside it first
    /// and renamed over it when complete, so a failed export never destroys an older file).
    public func run(to hostPath: String, overwrite: Bool, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> RecordsExportResult {
        if FileManager.default.fileExists(atPath: hostPath) && !overwrite {
            throw UpshiftError.usage("\(hostPath) already exists", hint: "add --overwrite to replace it, or choose another file")
        }
        _ = try RecordsFlags(version: version).exportArguments(filename: containerPath, options: options)
        let partial = hostPath + ".upshift-part"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        do {
            progress("invoke export-records in \(endpoint.project.name)/\(endpoint.server) -> \(containerPath)")
            try await endpoint.tasks.exportRecords(to: containerPath, version: version, options: options, progress: progress)
            progress("copying \(containerPath) to \(hostPath)")
            try await endpoint.copyOut(containerPath, to: partial)
            try? await endpoint.remove(containerPath)
        } catch {
            try? await endpoint.remove(containerPath)
            try? await endpoint.remove(containerPath + ".tmp")
            throw error
        }
        let (file, _) = try RecordsFile.read(path: partial)
        let sha = try SHA256.hexOfFile(atPath: partial)
        if FileManager.default.fileExists(atPath: hostPath) { try FileManager.default.removeItem(atPath: hostPath) }
        try FileManager.default.moveItem(atPath: partial, toPath: hostPath)
        return RecordsExportResult(path: hostPath, sha256: sha, file: file, version: version)
    }
}
