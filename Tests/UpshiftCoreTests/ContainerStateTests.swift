import Testing
@testable import UpshiftCompose

/// `docker inspect` output as the new-server wait reads it: a restart or a missing address must be seen.
struct ContainerStateTests {
    @Test func parsesStatusRestartsAndAddresses() throws {
        let running = try #require(ContainerState.parse(id: "abc", "running 0 172.22.0.3 172.23.0.4 \n"))
        #expect(running.status == "running" && running.restartCount == 0)
        #expect(running.addresses == ["172.22.0.3", "172.23.0.4"])
        let restarting = try #require(ContainerState.parse(id: "abc", "restarting 3 \n"))
        #expect(restarting.restartCount == 3 && restarting.addresses.isEmpty)
        #expect(ContainerState.parse(id: "abc", "") == nil)
        #expect(ContainerState.parse(id: "abc", "running many") == nil)
    }
}
