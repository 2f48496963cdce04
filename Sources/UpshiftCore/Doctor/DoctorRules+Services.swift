import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

extension DoctorRules {
    /// Failure mode 13: a run that did not finish and was not undone leaves the deployment half-way.
    public static func pendingRollback(runID: String?, command: String?, stoppedIn: String?, projectDirectory: String, error: String? = nil) -> DoctorCheck {
        let id = DoctorCheckID.pendingRollback
        let title = "interrupted run pending rollback"
        if let error { return DoctorCheck(id, title, .warn, "the run folders could not be read: \(error)") }
        guard let runID else { return DoctorCheck(id, title, .pass, "no interrupted run") }
        return DoctorCheck(id, title, .fail,
                           "run \(runID) (\(command ?? "?")) did not finish and was not undone\(stoppedIn.map { "; it stopped in step \($0)" } ?? ""); no new run will start over it",
                           fix: "upshift -C \(ShellQuote.quote(projectDirectory)) rollback --run \(runID)")
    }

    /// Failure mode 12: restart policies, healthchecks and auto-updaters that act behind upshift's back.
    public static func interference(database: String, runtime: [String: DoctorServiceRuntime], watchers: [String]) -> DoctorCheck {
        let id = DoctorCheckID.interference
        let title = "restart policies, healthchecks, auto-updaters"
        var facts: [String] = []
        var warnings: [String] = []
        for name in runtime.keys.sorted() {
            let service = runtime[name]!
            var parts: [String] = []
            if service.effectiveRestart != "no" { parts.append("restart \(service.effectiveRestart)") }
            if let health = service.healthcheck { parts.append("healthcheck `\(health.prefix(60))`") }
            if !parts.isEmpty { facts.append("\(name): \(parts.joined(separator: ", "))") }
            if service.effectiveRestart == "always" && name != database {
                warnings.append("\(name) has restart: always, so a docker daemon restart during the upgrade would start it against the database")
            }
        }
        if !watchers.isEmpty {
            warnings.append("auto-updater/auto-healer containers run on this engine (\(watchers.joined(separator: ", "))): they may re-pull tags or restart containers upshift stopped")
        }
        let does = "pg-upgrade stops the application services first, reaches the database at its container address (or, where this host cannot, republishes it with restart: \"no\" on a 127.0.0.1-only port while it works), and puts your settings back when it is done"
        if warnings.isEmpty {
            return DoctorCheck(id, title, facts.isEmpty ? .pass : .info, (facts.isEmpty ? "no restart policies or healthchecks" : facts.joined(separator: "; ")) + "; " + does)
        }
        return DoctorCheck(id, title, .warn, warnings.joined(separator: "; ") + ". " + does,
                           fix: "pause auto-updaters (Watchtower, autoheal …) for the upgrade; prefer restart: unless-stopped")
    }

    /// Failure mode 1 prevention: pg-upgrade changes exactly one line; it must be safely editable.
    public static func imageLine(service: String, edit: Result<ImageTagEdit, UpshiftError>?, upgrading: Bool, id: String = DoctorCheckID.imageLine, what: String = "image line editable") -> DoctorCheck {
        guard upgrading else { return DoctorCheck(id, what, .skip, "no upgrade to plan for \(service)") }
        switch edit {
        case .none:
            return DoctorCheck(id, what, .fail, "cannot find the line that defines the image of \(service)",
                               fix: "write the image as a plain `image: repo:tag` line in a compose file")
        case .failure(let error):
            return DoctorCheck(id, what, .fail, error.message, fix: error.hint)
        case .success(let edit):
            let file = (edit.file as NSString).lastPathComponent
            return DoctorCheck(id, what, .pass, "\(file) line \(edit.lineNumber): `\(edit.oldLine.trimmingCharacters(in: .whitespaces))` -> `\(edit.newLine.trimmingCharacters(in: .whitespaces))`")
        }
    }

    /// How the target image's availability was established, without pulling it.
    public enum ImageAvailability: Sendable, Hashable, Codable {
        /// `docker image inspect`: already in the engine's image store.
        case local
        /// `docker manifest inspect` found it in `registry`.
        case inRegistry(registry: String)
        /// The registry answered that the tag does not exist.
        case missing(registry: String, message: String)
        /// The registry could not be asked (offline, auth).
        case unknown(message: String)
    }

    /// The target image must be obtainable before any downtime.
    public static func targetImage(_ image: String, availability: ImageAvailability?, upgrading: Bool) -> DoctorCheck {
        let id = DoctorCheckID.targetImage
        let title = "target image pullable"
        guard upgrading, let availability else { return DoctorCheck(id, title, .skip, "no upgrade to plan") }
        switch availability {
        case .local:
            return DoctorCheck(id, title, .pass, "\(image) is already in the local image store (docker image inspect)")
        case .inRegistry(let registry):
            return DoctorCheck(id, title, .pass, "\(image) exists in \(registry) (docker manifest inspect; not pulled)")
        case .missing(let registry, let message):
            return DoctorCheck(id, title, .fail, "\(image) is not in \(registry) (docker manifest inspect: \(message))",
                               fix: "choose a major whose image exists (check the tag), or make it available in your registry; pg-upgrade refuses otherwise")
        case .unknown(let message):
            return DoctorCheck(id, title, .warn, "\(image) is not local and the registry could not be asked (docker manifest inspect: \(message))",
                               fix: "docker pull \(image) to check (doctor does not pull)")
        }
    }

    /// The app's own backups use the app image's pg_dump, which refuses a server newer than itself.
    public static func appClient(app: AppProfile, clientMajor: Result<Int, UpshiftError>?, serverMajor: Int?, targetMajor: Int, image: String?) -> DoctorCheck {
        let id = DoctorCheckID.appClient
        let title = "app image pg_dump vs server major"
        guard app.kind == .inventree else {
            return DoctorCheck(id, title, .skip, "not an InvenTree deployment: upshift dumps with the database image's own pg_dump")
        }
        let name = image ?? app.image ?? "the app image"
        switch clientMajor {
        case .none:
            return DoctorCheck(id, title, .skip, "\(name) is not in the local image store (doctor does not pull)", fix: "docker compose pull \(app.serverService ?? ""), then run doctor again")
        case .failure(let error):
            return DoctorCheck(id, title, .warn, "cannot run pg_dump --version in \(name): \(error.message)")
        case .success(let client):
            if let server = serverMajor, client < server {
                return DoctorCheck(id, title, .fail,
                                   "\(name) ships pg_dump \(client) but the server is PostgreSQL \(server): pg_dump refuses a newer server, so `invoke backup` and InvenTree's automatic backups fail now",
                                   fix: "update InvenTree to a release whose image ships pg_dump \(server) or newer (upshift update --to VERSION)")
            }
            if client < targetMajor {
                return DoctorCheck(id, title, .warn,
                                   "\(name) ships pg_dump \(client); after pg-upgrade --to \(targetMajor) the server is newer than it, so `invoke backup` would fail",
                                   fix: "update InvenTree to a release that ships pg_dump \(targetMajor)+ first (upshift update --to VERSION), or upgrade only to \(client)")
            }
            return DoctorCheck(id, title, .pass, "\(name) ships pg_dump \(client), not older than the server (\(serverMajor.map(String.init) ?? "?")) or --to \(targetMajor)")
        }
    }
}
