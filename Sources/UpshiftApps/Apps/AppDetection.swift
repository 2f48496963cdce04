import UpshiftCompose

/// Recognises the application in a resolved compose model.
public enum AppDetection {
    /// The InvenTree image repository on Docker Hub.
    public static let inventreeRepository = "inventree/inventree"

    /// InvenTree when some service runs `inventree/inventree` (any registry prefix) as InvenTree; generic
    /// otherwise.
    ///
    /// InvenTree runs the same image twice: the server (default command) and the background worker
    /// (`invoke worker`). The server is the one whose command does not run the worker; the version comes
    /// from its resolved tag. A service that merely borrows the image for something else (its own command,
    /// no `INVENTREE_*` settings, as the generic sample's `app` does) does not make the project InvenTree:
    /// every real InvenTree deployment configures the app through `INVENTREE_*` variables.
    public static func detect(in config: ComposeConfig) -> AppProfile {
        let inventree = config.serviceNames.compactMap { name -> (String, ComposeService, ImageReference)? in
            guard let service = config.services[name], let text = service.image,
                let ref = ImageReference(parsing: text), ref.repository == inventreeRepository,
                runsInvenTree(service)
            else { return nil }
            return (name, service, ref)
        }
        guard !inventree.isEmpty else { return AppProfile(kind: .generic) }
        let workers = inventree.filter { isWorker($0.1) }
        let servers = inventree.filter { !isWorker($0.1) }
        let server = servers.first ?? inventree.first!
        return AppProfile(
            kind: .inventree, version: server.2.tag ?? "latest", serverService: server.0,
            workerServices: workers.map(\.0), image: server.1.image)
    }

    static func runsInvenTree(_ service: ComposeService) -> Bool {
        if service.environment.keys.contains(where: { $0.hasPrefix("INVENTREE_") }) { return true }
        if service.command?.first == "invoke" { return true }
        return service.command == nil && service.entrypoint == nil
    }

    static func isWorker(_ service: ComposeService) -> Bool {
        let words = (service.entrypoint ?? []) + (service.command ?? [])
        return words.contains { $0 == "worker" || $0.hasSuffix(" worker") || $0 == "qcluster" }
    }
}
