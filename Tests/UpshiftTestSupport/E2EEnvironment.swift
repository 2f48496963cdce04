import Foundation
import UpshiftSupport

/// Where the end-to-end tests find their docker engine, the repository and the built `upshift` binary.
///
/// The engine is the private one that `compose/testenv/up` starts (or any engine `DOCKER_HOST` names). Tests use
/// `E2EEnvironment.isEngineReachable` in `.enabled(if:)` so a machine without the test stack skips them with a
/// visible reason instead of failing.
public enum E2EEnvironment {
    /// The state folder of `compose/testenv/up` (wheels, engine data, registry).
    public static let testenvDirectory: String =
        ProcessInfo.processInfo.environment["UPSHIFT_TESTENV"] ?? "/var/tmp/upshift-testenv"

    /// `DOCKER_HOST` for every child process: the caller's, else the test stack's socket.
    public static let dockerHost: String =
        ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "unix://\(testenvDirectory)/docker.sock"

    /// The local registry the engine uses as its mirror (`compose/testenv/up`).
    public static let registry = ProcessInfo.processInfo.environment["UPSHIFT_TESTENV_REGISTRY"] ?? "127.0.0.1:5555"

    /// True when the whole matrix of an end-to-end suite should run (`UPSHIFT_FULL=1`, set by
    /// `scripts/test --full`). A suite whose every case would exceed the CI budget runs a representative subset
    /// without it, and says which cases it skipped.
    public static let full: Bool = ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["UPSHIFT_FULL"]?.lowercased() ?? "")

    /// The repository root, derived from this source file's location (Tests/UpshiftTestSupport/…).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A sample deployment folder under `compose/` (e.g. "inventree", "generic").
    public static func sampleDirectory(_ name: String) -> URL {
        repositoryRoot.appendingPathComponent("compose").appendingPathComponent(name)
    }

    /// Environment added to every child the harness starts.
    public static var childEnvironment: [String: String] { ["DOCKER_HOST": dockerHost] }

    /// True when `docker version` reaches a server within 15 s. Evaluated once per test process.
    public static let isEngineReachable: Bool = probeEngine()

    /// Why end-to-end tests are skipped, for comments and messages.
    public static var skipReason: String {
        "no docker engine answers on DOCKER_HOST=\(dockerHost) (start one with: eval \"$(compose/testenv/up)\")"
    }

    /// The built `upshift` binary: `UPSHIFT_BIN`, else next to the test bundle in the build products folder,
    /// else `<repo>/.build/debug/upshift`. `nil` when none is executable.
    public static let upshiftBinary: String? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["UPSHIFT_BIN"] { candidates.append(explicit) }
        // SwiftPM runs tests from <scratch>/<config>/<Package>PackageTests.xctest: the products folder.
        for start in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            var url = URL(fileURLWithPath: start).resolvingSymlinksInPath()
            for _ in 0..<3 {
                url.deleteLastPathComponent()
                candidates.append(url.appendingPathComponent("upshift").path)
            }
        }
        candidates.append(repositoryRoot.appendingPathComponent(".build/debug/upshift").path)
        return candidates.first { path in
            var isDirectory: ObjCBool = false
            return fm.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && fm.isExecutableFile(atPath: path)
        }
    }()

    /// True when both an engine answers and the `upshift` binary exists.
    public static var canRunUpshiftEndToEnd: Bool { isEngineReachable && upshiftBinary != nil }

    /// The shared runner for harness children (concurrent stdout/stderr reads, timeouts).
    public static let runner = LiveCommandRunner()

    /// Runs `docker ARGS` against the test engine and returns the result (non-zero exit is not an error here).
    /// `environment` adds variables (a password for `exec -e NAME`, never in argv).
    public static func docker(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, timeout: Duration = .seconds(300)) async throws -> E2EOutput {
        let command = Command("docker", arguments, environment: childEnvironment.merging(environment) { $1 }, standardInput: stdin, timeout: timeout)
        return E2EOutput(try await runner.run(command))
    }

    /// Like `docker(_:)` but throws `E2EFailure` with the output tail when the exit status is not 0.
    @discardableResult
    public static func dockerChecked(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(300)) async throws -> E2EOutput {
        try await docker(arguments, stdin: stdin, timeout: timeout).checked("docker \(arguments.joined(separator: " "))")
    }

    /// A name no other test (or earlier run) uses: lowercase, digits and dashes, valid as a compose project name.
    public static func uniqueName(_ prefix: String) -> String {
        let clean = prefix.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return "\(String(clean))-\(UUID().uuidString.prefix(8).lowercased())"
    }

    private static func probeEngine() -> Bool {
        // Synchronous on purpose (used by `.enabled(if:)`); no pipes, so nothing can fill up and block.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker", "version", "--format", "{{.Server.Version}}"]
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = dockerHost
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            return false
        }
        return process.terminationReason == .exit && process.terminationStatus == 0
    }
}

/// The outcome of one child process, as tests assert on it.
public struct E2EOutput: Sendable, CustomStringConvertible {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
    public var termination: Termination
    public var duration: Duration

    public init(_ result: CommandResult) {
        termination = result.termination
        switch result.termination {
        case .exited(let code): exitCode = code
        case .signaled(let signal): exitCode = 128 + signal
        }
        stdout = result.stdoutText
        stderr = result.stderrText
        duration = result.duration
    }

    public var succeeded: Bool { termination == .exited(0) }

    public var description: String {
        "\(termination) after \(duration)\n--- stdout (tail)\n\(stdout.suffix(3000))\n--- stderr (tail)\n\(stderr.suffix(3000))"
    }

    /// Throws `E2EFailure` unless the child exited 0.
    @discardableResult
    public func checked(_ what: String) throws -> E2EOutput {
        guard succeeded else { throw E2EFailure("\(what) failed: \(self)") }
        return self
    }
}

/// A harness failure with enough context (command, output tails) to debug from the test log alone.
public struct E2EFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
