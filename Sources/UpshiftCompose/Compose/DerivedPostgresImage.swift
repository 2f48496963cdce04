import Foundation

/// A PostgreSQL server on an image built from postgres rather than the official one: Immich's
/// `ghcr.io/immich-app/postgres:14-vectorchord…`, PostGIS, pgvector and the like.
///
/// upshift upgrades a database by switching its tag to the official image's next major; for such an image that
/// switch would drop the extensions the data depends on, and the image's own tags follow its maintainers'
/// scheme. So the service is refused — but by name, with that reason, instead of "no postgres service … name
/// another with --db-service", which sent Immich users to an option that refuses the same service again.
enum DerivedPostgresImage {
    /// Services whose image is not the official postgres but that keep data where a postgres server does (a
    /// mount at or under `/var/lib/postgresql`), sorted by name.
    static func candidates(in config: ComposeConfig) -> [String] {
        config.serviceNames.filter { name in
            guard let service = config.services[name], !DatabaseService.runsPostgresImage(service) else { return false }
            return service.volumes.contains { mount in
                let target = DataLocation.normalize(mount.target)
                return target == "/var/lib/postgresql" || target.hasPrefix("/var/lib/postgresql/")
            }
        }
    }

    /// The reason and the way out for `service` on `image`.
    static func explanation(service: String, image: String) -> (reason: String, hint: String) {
        let target = ImageReference(parsing: image).map { "\($0.repository) with a newer major" } ?? "its newer major"
        return (
            "service \"\(service)\" keeps PostgreSQL data under /var/lib/postgresql but runs \(image), an image built on postgres, not the official postgres image",
            "upshift upgrades only the official image: it would switch \"\(service)\" to postgres:<new major>, which lacks the extensions of \(image); "
                + "upgrade it the way that image's maintainers document (\(target)). Nothing was changed")
    }
}
