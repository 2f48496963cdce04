import Foundation
import UpshiftSupport

/// Keeps `/docker-entrypoint-initdb.d` scripts out of a cluster that is made for a restore.
///
/// The postgres image runs every script there when it initialises an empty PGDATA. On a new cluster that
/// the dump is about to fill, a script that creates a role or a table makes the restore fail (`role …
/// already exists` under ON_ERROR_STOP) or duplicates data: the old cluster's roles, databases and rows are
/// the truth. So the first start of the new server (and the one-off server of the staged cluster) gets a
/// compose override that hides them: an empty tmpfs at the directory (which also hides scripts baked into
/// the image, such as PostGIS's) and, over each file the user bind-mounts into it, an empty stand-in of the
/// same kind (`.sh`, `.sql`, `.sql.gz`, `.sql.xz`: an empty script or an empty compressed stream). The
/// entrypoint still creates `POSTGRES_USER` (the restore skips it) and `POSTGRES_DB` (the restore drops and
/// recreates it as it was). Later starts find PG_VERSION and run no script at all.
public struct InitScriptMask: Sendable, Hashable, Codable {
    public static let directory = "/docker-entrypoint-initdb.d"

    /// The service's mounts at or under the directory.
    public var mounts: [ComposeServiceVolume]
    /// Entries the target image itself has in the directory.
    public var imageEntries: [String]

    public init(mounts: [ComposeServiceVolume], imageEntries: [String]) {
        self.mounts = mounts
        self.imageEntries = imageEntries
    }

    /// `nil` when there is nothing to hide.
    public static func make(volumes: [ComposeServiceVolume], imageEntries: [String]) -> InitScriptMask? {
        let mounts = volumes.filter { $0.target == directory || $0.target.hasPrefix(directory + "/") }
        return mounts.isEmpty && imageEntries.isEmpty ? nil : InitScriptMask(mounts: mounts, imageEntries: imageEntries)
    }

    /// What the plan says.
    public var summary: String {
        let names = (mounts.map(\.target) + imageEntries.map { "\(Self.directory)/\($0) (in the image)" })
        return "init scripts hidden for the first start, so only the restore creates objects: " + names.joined(separator: ", ")
    }

    /// The compose `volumes` entries of the override; writes the empty stand-ins into `folder` (created).
    package func volumes(standInFolder folder: String) throws -> [[String: Any]] {
        var entries: [[String: Any]] = [["type": "tmpfs", "target": Self.directory]]
        var isDirectory: ObjCBool = false
        for (index, mount) in mounts.enumerated() where mount.target != Self.directory {
            // A directory below it is never run (the entrypoint only looks at the directory's own entries);
            // a file is, so it gets an empty one of the same kind.
            if mount.type == .bind, let source = mount.source, FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                continue
            }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let name = (mount.target as NSString).lastPathComponent
            let path = "\(folder)/\(index)-\(name)"
            guard FileManager.default.createFile(atPath: path, contents: Self.emptyContents(name), attributes: [.posixPermissions: 0o644]) else {
                throw UpshiftError("cannot write \(path)")
            }
            entries.append(["type": "bind", "source": path, "target": mount.target, "read_only": true])
        }
        return entries
    }

    /// An empty script of the kind the entrypoint recognises by suffix.
    static func emptyContents(_ name: String) -> Data {
        if name.hasSuffix(".gz") { return Data([31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }
        if name.hasSuffix(".xz") {
            return Data([253, 55, 122, 88, 90, 0, 0, 4, 230, 214, 180, 70, 0, 0, 0, 0, 28, 223, 68, 33, 31, 182, 243, 125, 1, 0, 0, 0, 0, 4, 89, 90])
        }
        if name.hasSuffix(".zst") { return Data([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00]) }
        return Data()
    }

    /// Names in the target image's init directory, read before the window (a one-off `ls`).
    package static func imageEntries(image: String, runner: any CommandRunning) async throws -> [String] {
        let result = try await runner.run(Command(
            "docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--entrypoint", "ls", image, "-A", directory], timeout: .seconds(120)))
        guard result.termination.isSuccess else { return [] }  // no such directory: nothing to hide
        return result.stdoutText.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
    }
}
