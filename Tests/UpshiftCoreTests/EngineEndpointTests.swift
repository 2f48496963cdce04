import Testing
import UpshiftCompose
import UpshiftSupport
import UpshiftTestSupport

/// Changing runs need the engine on this host; which endpoints count as local.
struct EngineEndpointTests {
    @Test(arguments: [
        ("unix:///var/run/docker.sock", true), ("unix:///var/tmp/upshift-testenv/docker.sock", true), ("npipe:////./pipe/docker_engine", true),
        ("tcp://127.0.0.1:2375", true), ("tcp://localhost:2376", true), ("tcp://[::1]:2375", true),
        ("tcp://10.0.0.5:2376", false), ("tcp://nas.local:2375", false), ("ssh://admin@nas", false), ("ssh://upshift@127.0.0.1", false),
        ("tcp://127.example.com:2375", false),
    ])
    func locality(_ host: String, _ local: Bool) {
        #expect(EngineEndpoint(host: host).isLocal == local, "\(host)")
    }

    @Test func remoteEngineIsRefusedAsUsage() async throws {
        let runner = RecordingRunner()
        runner.stub(["docker", "context", "inspect"], stdout: "ssh://admin@nas\n")
        do {
            try await EngineEndpoint.requireLocal("pg-upgrade", runner: runner)
            Issue.record("a remote engine was accepted")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage)
            #expect(error.message.contains("ssh://admin@nas") && error.message.contains("nothing was changed"))
        }
        runner.stub(["docker", "context", "inspect"], stdout: "unix:///var/run/docker.sock\n")
        try await EngineEndpoint.requireLocal("pg-upgrade", runner: runner)
    }
}
