import Foundation
import UpshiftCompose
import UpshiftSupport

/// Refuses, before anything changes, to switch the tag of a service that is built locally (`build:` next to
/// `image:`).
///
/// For such a service `image: postgres:15` only names what `docker compose build` produces from its
/// Dockerfile. Switching the tag would pull the official `postgres:18` and run it — without whatever the
/// Dockerfile adds (extensions, configuration) — while the Dockerfile still says `FROM postgres:15`, so the
/// next `docker compose build` or `up --build` puts the old major back in front of upgraded data. upshift
/// neither edits Dockerfiles nor builds images, so the honest answer is to say so and stop.
public enum BuiltImageRefusal {
    /// Reads a Dockerfile on the host (injected for tests).
    public typealias ReadFile = @Sendable (String) -> String?

    public static let readHostFile: ReadFile = { path in
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `pg-upgrade --to targetMajor`: the database service when it is built, else the first sidecar that is
    /// built and would be switched with it (a major in its tag below the target; the others stay as they are).
    public static func pgUpgrade(
        database: DatabaseService, config: ComposeConfig, targetMajor: Int, readFile: ReadFile = readHostFile
    ) -> UpshiftError? {
        let target = (try? ImageSwitch.targetImage(database.image, targetMajor: targetMajor).description) ?? "postgres:\(targetMajor)"
        if let build = config.services[database.service]?.build {
            return refusal(
                service: database.service, role: "service", build: build, image: database.imageText, target: target,
                consequence: "pg-upgrade would switch that tag to \(target) and run the official image, while the Dockerfile still builds the old major (and what it adds would be missing)",
                hint: dataOnlyHint(service: database.service, build: build, target: target, targetMajor: targetMajor),
                readFile: readFile)
        }
        for name in database.sidecars {
            guard let service = config.services[name], let build = service.build, let text = service.image,
                  let image = ImageReference(parsing: text), let major = image.major, major < targetMajor
            else { continue }
            let sidecarTarget = (try? ImageSwitch.targetImage(image, targetMajor: targetMajor).description) ?? "postgres:\(targetMajor)"
            return refusal(
                service: name, role: "sidecar", build: build, image: text, target: sidecarTarget,
                consequence: "it runs no server, so pg-upgrade would switch its tag to \(sidecarTarget) with \(database.service) (its pg_dump must be at least the server's major) and run the official image, while the Dockerfile still builds \(image)",
                hint: "remove `build:` from \(name) for the upgrade and run `upshift pg-upgrade --to \(targetMajor)`; then change its FROM line to \(sidecarTarget) in \(build.dockerfileDescription), put `build:` back and run `docker compose up -d --build \(name)`; nothing was changed",
                readFile: readFile)
        }
        return nil
    }

    /// `update --to VERSION`: the first of the application services whose tag changes that is built.
    public static func appUpdate(
        services: [String], config: ComposeConfig, target: String, readFile: ReadFile = readHostFile
    ) -> UpshiftError? {
        for name in services.sorted() {
            guard let service = config.services[name], let build = service.build else { continue }
            return refusal(
                service: name, role: "service", build: build, image: service.image ?? "none", target: target,
                consequence: "update would switch that tag to \(target) and run the published image, while the Dockerfile still builds the old version (and what it adds would be missing)",
                hint: "change the FROM line of \(build.dockerfileDescription) to \(target) and rebuild yourself (`docker compose up -d --build`), or replace `build:` with a plain `image:` and run upshift update again; nothing was changed",
                readFile: readFile)
        }
        return nil
    }

    static func refusal(
        service: String, role: String, build: ComposeBuild, image: String, target: String, consequence: String, hint: String, readFile: ReadFile
    ) -> UpshiftError {
        let from = build.fromLines(readFile: readFile)
        let says = from.isEmpty ? "" : " (" + from.map { "`\($0)`" }.joined(separator: ", ") + ")"
        return UpshiftError.usage(
            "\(role) \(service) is built from \(build.dockerfileDescription)\(says): its `image: \(image)` only names the result of `build:`; \(consequence). upshift does not edit Dockerfiles or build images",
            hint: hint)
    }

    /// The way out for a built database: upgrade the data on the official image, then build again on the
    /// new major. Honest about the case it cannot cover (extensions only the Dockerfile installs).
    static func dataOnlyHint(service: String, build: ComposeBuild, target: String, targetMajor: Int) -> String {
        "if the Dockerfile adds nothing the data needs: remove `build:` from \(service) (keep its image line), run `upshift pg-upgrade --to \(targetMajor)`, "
            + "then change the FROM line in \(build.dockerfileDescription) to \(target), put `build:` back and run `docker compose up -d --build \(service)`. "
            + "If it installs extensions the data uses, upshift cannot upgrade this service (its target is always the pulled \(target)): "
            + "dump, build the new image and restore by hand; nothing was changed"
    }
}
