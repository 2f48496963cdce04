import Foundation
import UpshiftSupport

/// The files one `invoke backup` wrote, found by listing the backup directory before and after, with
/// their sizes and SHA-256. Kept in the run folder and the audit, and printed, so a restore names the
/// exact file instead of letting InvenTree pick "the newest" (reference §3.4).
public struct InvenTreeBackupRecord: Sendable, Hashable, Codable {
    public struct File: Sendable, Hashable, Codable {
        public var name: String
        public var bytes: Int64
        public var sha256: String
        public init(name: String, bytes: Int64, sha256: String) {
            self.name = name
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// InvenTree version that wrote the backup (decides restore flags and name format).
    public var version: String
    /// `$INVENTREE_BACKUP_DIR` inside the app container.
    public var directory: String
    /// The same directory on the host, when it is a bind mount.
    public var hostDirectory: String?
    /// The database dump (`InvenTree-db-….psql.bin.gz`, or `default-<host>-….psql.bin.gz` up to 1.0).
    public var databaseFile: String?
    /// The media archive (`InvenTree-media-….tar.gz`, or `<host>-….tar.gz` up to 1.0).
    public var mediaFile: String?
    /// Every new file, sidecars (`.metadata`) included, with size and hash.
    public var files: [File]

    public init(version: String, directory: String, hostDirectory: String? = nil, databaseFile: String?, mediaFile: String?, files: [File] = []) {
        self.version = version
        self.directory = directory
        self.hostDirectory = hostDirectory
        self.databaseFile = databaseFile
        self.mediaFile = mediaFile
        self.files = files
    }

    /// Sorts the new names of a backup directory into database file, media file and sidecars.
    /// - Throws: when no database file, or more than one candidate of a kind, appeared.
    public static func classify(_ names: [String], directory: String, version: InvenTreeVersion) throws -> InvenTreeBackupRecord {
        let candidates = names.filter { !$0.hasSuffix(".metadata") }
        let media = candidates.filter { $0.contains(".tar") }
        let database = candidates.filter { !$0.contains(".tar") }
        guard database.count == 1 else {
            throw UpshiftError(
                database.isEmpty ? "`invoke backup` wrote no database file in \(directory) (new files: \(names.isEmpty ? "none" : names.joined(separator: ", ")))"
                    : "`invoke backup` wrote several database files in \(directory): \(database.joined(separator: ", ")); was another backup running?")
        }
        guard media.count <= 1 else {
            throw UpshiftError("`invoke backup` wrote several media archives in \(directory): \(media.joined(separator: ", "))")
        }
        return InvenTreeBackupRecord(version: version.description, directory: directory, databaseFile: database[0], mediaFile: media.first)
    }

    public func file(named name: String?) -> File? { name.flatMap { n in files.first { $0.name == n } } }

    /// One line per file for people: name, size, hash.
    public var lines: [String] {
        files.map { "\($0.name)  \(ByteFormat.string($0.bytes))  sha256 \($0.sha256)" }
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try DurableFile.atomicWrite(try encoder.encode(self), to: path, mode: 0o600)
    }

    public static func read(_ path: String) throws -> InvenTreeBackupRecord {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpshiftError("missing backup record \(path)") }
        return try JSONDecoder().decode(InvenTreeBackupRecord.self, from: data)
    }
}
