/// The application a compose project runs next to its database, as far as upshift cares: which kind (so it
/// knows the app's own backup/update/export tasks) and which version (from the resolved image tag).
public struct AppProfile: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// InvenTree (`inventree/inventree`): invoke tasks for backup, update, export/import of records.
        case inventree
        /// Any other application: only tool-level (pg_dump) operations apply.
        case generic
    }

    public var kind: Kind
    /// The version the running tag names (`0.17.0`); `stable`/`latest` are kept as written.
    public var version: String?
    /// The service that serves the app (InvenTree: the one not running the worker).
    public var serverService: String?
    /// Background worker services (InvenTree: `invoke worker`).
    public var workerServices: [String]

    /// The application's own services (server first, then workers): always database clients.
    public var applicationServices: [String] { (serverService.map { [$0] } ?? []) + workerServices }
    /// The app's image as resolved.
    public var image: String?

    public init(kind: Kind, version: String? = nil, serverService: String? = nil, workerServices: [String] = [], image: String? = nil) {
        self.kind = kind
        self.version = version
        self.serverService = serverService
        self.workerServices = workerServices
        self.image = image
    }

    /// True when `version` is a release number (`1.0.0`), not a moving tag (`stable`, `latest`).
    public var hasReleaseVersion: Bool { version?.first?.isNumber == true }

    public var summary: String {
        switch kind {
        case .inventree:
            return "InvenTree \(version ?? "(unknown version)") (server: \(serverService ?? "?"), workers: \(workerServices.isEmpty ? "none" : workerServices.joined(separator: ", ")))"
        case .generic:
            return "generic PostgreSQL application"
        }
    }
}
