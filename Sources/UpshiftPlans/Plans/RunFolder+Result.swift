import Foundation
import UpshiftSupport

/// The files as a run left them (`compose/result/`), so that a rollback days later can tell upshift's own
/// edit from the user's: it restores a file only when it still holds what the run wrote (or already the
/// snapshot), and otherwise refuses with what changed — never silently losing an edit made since.
extension RunFolder {
    var resultDirectory: String { snapshotDirectory + "/result" }

    /// Copies every snapshotted file as it is now (after the run's edit) into `compose/result/` (0600).
    public func recordResult() throws {
        try DurableFile.makeDirectory(resultDirectory)
        for entry in try manifest().entries {
            guard let data = FileManager.default.contents(atPath: entry.resolvedPath) else { continue }
            try DurableFile.atomicWrite(data, to: resultDirectory + "/" + entry.storedName, mode: 0o600)
        }
    }

    /// The bytes the run left in `entry`'s file, `nil` when no result was recorded (the run stopped inside
    /// its edit: the file is upshift's to restore).
    func result(of entry: SnapshotManifest.Entry) -> Data? {
        FileManager.default.contents(atPath: resultDirectory + "/" + entry.storedName)
    }

    /// Throws when the file differs from both the snapshot and the run's result: edited since the run.
    func refuseEditedSince(_ entry: SnapshotManifest.Entry, current: Data?, snapshot: Data) throws {
        guard let result = result(of: entry), let current, current != result, current != snapshot else { return }
        let isEnvFile = !(entry.resolvedPath.hasSuffix(".yml") || entry.resolvedPath.hasSuffix(".yaml"))
        let diff = TextDiff.unified(old: String(decoding: result, as: UTF8.self), new: String(decoding: current, as: UTF8.self), label: entry.path)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { line -> String in
                guard line.hasPrefix("+") || line.hasPrefix("-"), !line.hasPrefix("+++"), !line.hasPrefix("---") else { return String(line) }
                // An env file's lines are mostly secrets: say which lines, not what they hold.
                return isEnvFile ? String(line.prefix(1)) + "(line of \((entry.path as NSString).lastPathComponent), not shown)" : String(line.prefix(1)) + ResolvedConfigMask.maskingSecretValue(String(line.dropFirst()))
            }
            .joined(separator: "\n")
        throw UpshiftError(
            "\(entry.path) was changed after run \(runID) edited it; restoring the snapshot would lose that change. What changed since the run:\n\(diff)",
            hint: "undo that change (or copy \(snapshotDirectory)/\(entry.storedName), the file before the run, over it yourself), then run rollback again",
            exitCode: .failedRollbackIncomplete)
    }
}
