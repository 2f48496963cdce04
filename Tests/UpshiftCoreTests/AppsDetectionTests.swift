import Testing
import UpshiftApps
import UpshiftCompose

struct AppsDetectionTests {
    @Test func inventreeServerWorkerAndVersion() throws {
        let app = AppDetection.detect(in: try ComposeFixtures.config("inventree"))
        #expect(app.kind == .inventree)
        #expect(app.version == "0.17.0" && app.hasReleaseVersion)
        #expect(app.serverService == "inventree-server")
        #expect(app.workerServices == ["inventree-worker"])
    }

    @Test func genericOtherwise() throws {
        #expect(AppDetection.detect(in: try ComposeFixtures.config("named-volume")).kind == .generic)
    }

    @Test func registryPrefixAndMovingTag() {
        let config = ComposeConfig(name: "p", services: [
            "web": ComposeService(image: "myreg:5000/inventree/inventree:stable"),
            "bg": ComposeService(image: "myreg:5000/inventree/inventree:stable", command: ["invoke", "worker"]),
        ])
        let app = AppDetection.detect(in: config)
        #expect(app.kind == .inventree && app.serverService == "web" && app.version == "stable" && !app.hasReleaseVersion)
    }

    @Test func borrowedImageWithOwnCommandIsGeneric() {
        let config = ComposeConfig(name: "p", services: [
            "app": ComposeService(image: "inventree/inventree:0.17.0", environment: ["APP_DB_HOST": "db"], command: ["sh", "-c", "loop"]),
            "db": ComposeService(image: "postgres:15"),
        ])
        #expect(AppDetection.detect(in: config).kind == .generic)
    }
}
