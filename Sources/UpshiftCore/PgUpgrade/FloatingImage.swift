import Foundation
import UpshiftCompose
import UpshiftSupport

/// A database service on a floating tag (`postgres`, `postgres:latest`, `postgres:alpine`): the tag names no
/// major, so what runs decides. The running (or last) container's image is the old major's image — the one
/// every helper that must match the old cluster uses (`pg_controldata`, the rollback's start) — and the data
/// on disk must be that major; the switch then pins the tag (`latest` -> `18`, `alpine` -> `18-alpine`).
enum FloatingImage {
    /// The old major and the service with `imageText` set to the container's image id.
    /// - Throws: a usage error when there is no container to tell, or its image is not the major on disk
    ///   (the floating tag was pulled anew and the data not migrated).
    static func resolve(_ database: DatabaseService, config: ComposeConfig, compose: ComposeOperations, runner: any CommandRunning) async throws -> (Int, DatabaseService) {
        let pin = "pin the tag to the major your data has (e.g. postgres:15), start it, then run pg-upgrade"
        let container = try await ContainerState.read(service: database.service, compose: compose, runner: runner)
        let imageID = try await container.asyncMap { state in
            try await runner.run(Command("docker", ["inspect", "--format", "{{.Image}}", state.id], timeout: .seconds(60))).stdoutText
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } ?? ""
        guard !imageID.isEmpty else {
            throw UpshiftError.usage("the image \(database.image) of service \(database.service) names no major and the service has no container to tell which one runs", hint: pin)
        }
        let inspect = try await runner.run(Command("docker", ["image", "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", imageID], timeout: .seconds(60)))
        let major = inspect.stdoutText.split(whereSeparator: \.isNewline).first { $0.hasPrefix("PG_MAJOR=") }.flatMap { Int($0.dropFirst("PG_MAJOR=".count)) }
        guard inspect.termination.isSuccess, let major else {
            throw UpshiftError.usage("cannot tell the PostgreSQL major of the image \(database.service) runs (\(imageID.prefix(19))…, no PG_MAJOR)", hint: pin)
        }
        var pinned = database
        pinned.imageText = imageID
        if !database.pgdataIsExplicit, let service = config.services[database.service] {
            // The default PGDATA is the running major's (`/var/lib/postgresql/data` up to 17), not `latest`'s.
            pinned.dataLocation = DataLocation.resolve(
                pgdata: database.defaultPGData(major: major), volumes: service.volumes, topLevelVolumes: config.volumes, projectName: config.name)
            pinned.legacyLayoutLocation = nil
            pinned.notes.removeAll { $0.contains("names no major version") || $0.contains("pre-18 layout") }
        }
        return (major, pinned)
    }
}
