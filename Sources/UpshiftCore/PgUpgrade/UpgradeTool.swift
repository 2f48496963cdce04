import Foundation
import UpshiftCompose

/// The image that runs `pg_upgrade` (in an `UpgradeWorker`): the new major's image plus the old major's binaries, like
/// `tianon/postgres-upgrade:OLD-to-NEW`. Its entrypoint is never used — upshift runs `initdb` and
/// `pg_upgrade` itself, so the settings match the old cluster (tianon's entrypoint would initdb with 18's
/// default checksums and no `host all all all` line, the two classic failures).
public struct UpgradeTool: Sendable, Hashable, Codable {
    public var image: String
    /// Old major's bin directory inside the image (`PGBINOLD`).
    public var binOld: String
    /// New major's bin directory inside the image (`PGBINNEW`).
    public var binNew: String
    /// Owner of the old cluster's files: the upgrade runs as this uid so both clusters share it.
    public var uid: Int
    public var gid: Int
    /// Labels every container (`RunHelperContainers`), so an undo can stop one a killed run left behind.
    public var runID: String

    public init(image: String, binOld: String, binNew: String, uid: Int, gid: Int, runID: String = "") {
        self.image = image
        self.binOld = binOld
        self.binNew = binNew
        self.uid = uid
        self.gid = gid
        self.runID = runID
    }

    /// The default image name for a pair of majors.
    public static func defaultImage(oldMajor: Int, newMajor: Int) -> String {
        "tianon/postgres-upgrade:\(oldMajor)-to-\(newMajor)"
    }

    /// Where a path relative to the mount root is inside the upgrade container.
    public static func containerPath(_ relative: String) -> String {
        DataDirectoryOperations.containerPath(relative)
    }
}
