import Foundation
import UpshiftApps
import UpshiftSupport

/// A tar of a host media directory for deployments without an app-level backup: same relative paths,
/// modes and owners kept by tar, archive 0600 with a SHA-256 sidecar.
public enum MediaArchive {
    /// `tar -C <parent> -czf <archive> <name>`.
    public static func create(directory: String, archive: String, runner: any CommandRunning) async throws -> DumpFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UpshiftError.usage("the media directory \(directory) does not exist")
        }
        guard !FileManager.default.fileExists(atPath: archive) else { throw UpshiftError("\(archive) already exists; upshift never overwrites a backup") }
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard FileManager.default.createFile(atPath: archive, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw UpshiftError("cannot create \(archive)")
        }
        let result = try await runner.run(Command("tar", ["-C", parent, "-czf", archive, "--", name], timeout: .seconds(6 * 3600)))
        guard result.termination.isSuccess else {
            try? FileManager.default.removeItem(atPath: archive)
            throw UpshiftError("tar of \(directory) failed: \(InvokeOutput.tail(result.stderrText, lines: 4))")
        }
        let file = try DumpFile.describe(archive)
        try file.writeSidecar()
        return file
    }

    /// Extracts an archive made by `create` into the parent of `directory` (existing files are replaced).
    public static func extract(archive: String, into directory: String, runner: any CommandRunning) async throws {
        if let expected = DumpFile.readSidecar(archive), try SHA256.hexOfFile(atPath: archive) != expected {
            throw UpshiftError("the archive \(archive) changed since it was written (SHA-256 mismatch)")
        }
        let parent = URL(fileURLWithPath: directory).standardizedFileURL.deletingLastPathComponent().path
        let result = try await runner.run(Command("tar", ["-C", parent, "-xzf", archive], timeout: .seconds(6 * 3600)))
        guard result.termination.isSuccess else {
            throw UpshiftError("extracting \(archive) failed: \(InvokeOutput.tail(result.stderrText, lines: 4))")
        }
    }
}
