import Foundation

/// The one-off image that runs `pg_upgrade`: the new major's image plus the old major's binaries, like
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

    /// `docker run` of one of the image's binaries as the data owner, with the data's mount at
    /// `DataDirectoryOperations.mountPoint` (read-write: pg_upgrade writes both clusters), no network (its
    /// servers only listen on a socket), and secrets passed by name only.
    public func command(
        _ mount: DataLocation, tool: String, _ arguments: [String], workdir: String? = nil,
        environment: [String: String] = [:], asRoot: Bool = false, stdin: Bool = false, timeout: Duration = .seconds(6 * 3600)
    ) -> Command {
        var args = ["run", "--rm", "--network", "none", "--log-driver", "none", "--user", asRoot ? "0:0" : "\(uid):\(gid)"]
        if stdin { args.append("-i") }
        args += DataDirectoryOperations.mountArguments(mount, readOnly: false)
        if let workdir { args += ["--workdir", workdir] }
        for name in environment.keys.sorted() { args += ["-e", name] }
        args += ["--label", "com.upshift.helper=true"] + RunHelperContainers.arguments(runID: runID) + ["--entrypoint", tool, image]
        args += arguments
        return Command("docker", args, environment: environment, timeout: timeout)
    }

    /// Where a path relative to the mount root is inside the upgrade container.
    public static func containerPath(_ relative: String) -> String {
        DataDirectoryOperations.containerPath(relative)
    }
}
