import Foundation
import Testing
@testable import UpshiftCore

/// The window's isolation decisions and override, without an engine (the end-to-end proof is
/// `WindowIsolationEndToEndTests`).
struct WindowIsolationTests {
    static let inspect = #"{"app_default":{"IPAddress":"172.20.0.3","Aliases":["db"]},"front":{"IPAddress":"172.21.0.2"}}"# + "\t"
        + #"{"5432/tcp":[{"HostIp":"0.0.0.0","HostPort":"15432"},{"HostIp":"::","HostPort":"15432"}],"8080/tcp":null}"# + "\t" + #""app_default""# + "\n"

    @Test func parsesNetworksPortsAndMode() throws {
        let exposure = try ContainerExposure.parse(Self.inspect)
        #expect(exposure.networks == ["app_default": "172.20.0.3", "front": "172.21.0.2"])
        #expect(exposure.bindings.map(\.hostPort) == [15432, 15432])
        #expect(exposure.knockAddresses.map { "\($0.host)|\($0.port)" } == ["127.0.0.1|15432", "::1|15432"])
        #expect(exposure.networksCanBeSwapped)
    }

    @Test func hostAndSharedNamespacesCannotBeSwapped() throws {
        for mode in ["host", "container:abc", "none"] {
            let exposure = try ContainerExposure.parse("{}\tnull\t\"\(mode)\"")
            #expect(!exposure.networksCanBeSwapped, "\(mode)")
        }
    }

    @Test func approachFollowsReachAndPorts() throws {
        let open = try ContainerExposure.parse(Self.inspect)
        let closed = ContainerExposure(networks: ["n": "10.0.0.2"], bindings: [], networkMode: "n")
        #expect(WindowIsolation.approach(reachesDirectly: true, invoke: false, exposure: closed) == .swapNetworks)
        #expect(WindowIsolation.approach(reachesDirectly: true, invoke: false, exposure: open) == .recreate)
        #expect(WindowIsolation.approach(reachesDirectly: false, invoke: false, exposure: closed) == .recreate)
        #expect(WindowIsolation.approach(reachesDirectly: true, invoke: true, exposure: closed) == .portsOnly)
    }

    @Test func overrideReplacesPortsAndNetworks() {
        let published = WindowIsolation.overrideText(service: "inventree-db", hostPort: 40123, network: "upshift-window-r1")
        #expect(published == """
            services:
              "inventree-db":
                restart: "no"
                ports: !override
                  - "127.0.0.1:40123:5432"
                networks: !override
                  upshift-window: {}
            networks:
              upshift-window:
                name: "upshift-window-r1"
                external: true

            """)
        let direct = WindowIsolation.overrideText(service: "db \"x\"", hostPort: nil, network: nil)
        #expect(direct == "services:\n  \"db \\\"x\\\"\":\n    restart: \"no\"\n    ports: !reset []\n")
    }
}
