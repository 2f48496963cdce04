/// Recognises the application in a resolved compose model.
public enum AppDetection {
    /// The InvenTree image repository on Docker Hub.
    public static let inventreeRepository = "inventree/inventree"

    /// InvenTree when some service runs `inventree/inventree` (any registry prefix); generic otherwise.
    ///
    /// InvenTree runs the same image twice: the server (default command) and the background worker
    /// (`invoke worker`). The server is the one whose command does not run the worker; the version comes
    /// from its resolved tag.
    public static func detect(in config: ComposeConfig) -> AppProfile {
        let inventree = config.serviceNames.compactMap { name -> (String, ComposeService, ImageReference)? in
            guard let service = config.services[name], let text = service.image,
                let ref = ImageReference(parsing: text), ref.repository == inventreeRepository
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

    static func isWorker(_ service: ComposeService) -> Bool {
        let words = (service.entrypoint ?? []) + (service.command ?? [])
        return words.contains { $0 == "worker" || $0.hasSuffix(" worker") || $0 == "qcluster" }
    }
}
