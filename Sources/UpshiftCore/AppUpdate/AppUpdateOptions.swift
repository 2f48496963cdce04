/// What the user chose for `upshift update`.
public struct AppUpdateOptions: Sendable, Hashable, Codable {
    /// The version to run (`1.0.0`); for InvenTree the new `INVENTREE_TAG`, for others the new image tag.
    public var targetVersion: String
    /// The application service whose image changes (generic deployments; InvenTree: the server by default).
    public var service: String?
    public var allowDowngrade: Bool
    public var rollbackOnFailure: Bool
    public var backupDirectory: String?
    public var stopTimeout: Int
    public var readyTimeout: Int
    /// The engine's endpoint when it is not on this host: the database is then reached through
    /// `DatabaseTunnel` and published nowhere. `nil`: a local engine.
    public var remoteEngine: String?

    public init(targetVersion: String, service: String? = nil, allowDowngrade: Bool = false, rollbackOnFailure: Bool = true, backupDirectory: String? = nil, stopTimeout: Int = 60, readyTimeout: Int = 180) {
        self.targetVersion = targetVersion
        self.service = service
        self.allowDowngrade = allowDowngrade
        self.rollbackOnFailure = rollbackOnFailure
        self.backupDirectory = backupDirectory
        self.stopTimeout = stopTimeout
        self.readyTimeout = readyTimeout
    }
}
