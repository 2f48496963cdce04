import Foundation
import UpshiftSupport

extension InvenTreeTasks {
    /// `invoke export-records --filename PATH --overwrite …` with the long flags of `version`; progress gets
    /// the task's own lines. - Throws: usage error for an option the version lacks (before running anything).
    @discardableResult
    public func exportRecords(to containerPath: String, version: InvenTreeVersion, options: ExportRecordsOptions,
                              progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> CommandResult {
        let arguments = try RecordsFlags(version: version).exportArguments(filename: containerPath, options: options)
        return try await invoke(arguments, onLine: { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            if !text.isEmpty, !text.hasPrefix("Container ") { progress(text) }
        })
    }

    /// `invoke import-records --filename PATH …`.
    @discardableResult
    public func importRecords(from containerPath: String, version: InvenTreeVersion, options: ImportRecordsOptions,
                              progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> CommandResult {
        let arguments = try RecordsFlags(version: version).importArguments(filename: containerPath, options: options)
        return try await invoke(arguments, onLine: { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            if !text.isEmpty, !text.hasPrefix("Container ") { progress(text) }
        })
    }

    /// `invoke migrate` (every version; 1.3-1.4 default to `--detect`, harmless in a container).
    @discardableResult
    public func migrate(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> CommandResult {
        try await invoke(["migrate"], onLine: { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.contains("migrations") || text.hasPrefix("Applying") { progress(text) }
        })
    }
}
