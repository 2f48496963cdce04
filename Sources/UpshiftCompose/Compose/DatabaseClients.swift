import Foundation

/// Which running services a window stops. Only the database's clients: the application's own services,
/// services that depend on the database or share its network namespace, and services whose environment
/// names its host (`DB_HOST=db`, `postgres://…@db:5432/…`). The others (a cache, a reverse proxy, a search
/// engine) keep running: tasks run in the window may need them (InvenTree's `clean_settings` touches the
/// cache), and stopping them only lengthens the outage. A client missed here still cannot write: the window
/// isolates the database from every network but upshift's.
public enum DatabaseClients {
    public struct Split: Sendable, Hashable {
        /// Stopped for the window and started again after it.
        public var stop: [String]
        /// Left running through the window.
        public var keep: [String]
    }

    /// - Parameters:
    ///   - running: services running now (the database among them or not).
    ///   - applicationServices: services known to be the application (InvenTree's server and workers).
    public static func split(running: [String], config: ComposeConfig, database: DatabaseService, applicationServices: [String] = []) -> Split {
        var hostNames: Set<String> = [database.service]
        if let name = config.services[database.service]?.containerName { hostNames.insert(name) }
        var split = Split(stop: [], keep: [])
        for name in running.sorted() where name != database.service {
            guard let service = config.services[name] else {
                split.stop.append(name)   // not in the model (an orphan): the old, cautious behaviour
                continue
            }
            let isClient = applicationServices.contains(name)
                || database.sidecars.contains(name)
                || service.dependsOn.contains(database.service)
                || service.networkMode == "service:\(database.service)"
                || (!speaksNoPostgres(service.image)
                    && service.environment.values.contains { value in value.map { mentions($0, anyOf: hostNames) } ?? false })
            if isClient { split.stop.append(name) } else { split.keep.append(name) }
        }
        return split
    }

    /// Images that cannot talk to PostgreSQL (caches, proxies, brokers, search engines). Their environment
    /// often names the database all the same: upstream InvenTree gives its redis `env_file: .env`, which holds
    /// `INVENTREE_DB_HOST`.
    static let infrastructureImages: Set<String> = [
        "redis", "valkey", "keydb", "dragonfly", "memcached", "caddy", "nginx", "traefik", "httpd", "haproxy", "envoy",
        "rabbitmq", "elasticsearch", "opensearch", "meilisearch", "typesense", "gotenberg", "tika", "minio",
        "mailhog", "mailpit",
    ]

    static func speaksNoPostgres(_ image: String?) -> Bool {
        guard let image, let reference = ImageReference(parsing: image) else { return false }
        return infrastructureImages.contains(reference.name)
    }

    /// Whether `value` names one of `hosts` as a whole word (`db`, `db:5432`, `postgres://u@db/x`, `host=db`),
    /// not as part of a longer name (`dbadmin`, `my-db`).
    static func mentions(_ value: String, anyOf hosts: Set<String>) -> Bool {
        let separators = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-.")).inverted
        return value.components(separatedBy: separators).contains { hosts.contains($0) }
    }
}
