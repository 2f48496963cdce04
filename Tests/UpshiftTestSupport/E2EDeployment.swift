import Foundation
import UpshiftSupport

/// A private, throw-away copy of a sample deployment (`compose/<sample>`) for one end-to-end test.
///
/// The copy lives in `<tmp>/upshift-e2e/<project>/`, so the compose project name (the folder's name, also passed as
/// `-p`) is unique per test and `upshift` run in that folder finds the same project a user would. Use
/// `E2EDeployment.with(sample:)` so containers, volumes and files are removed on every exit path.
public final class E2EDeployment: Sendable {
    /// The sample this copy came from ("inventree", "generic").
    public let sample: String
    /// The compose project name: unique, equal to the folder name.
    public let projectName: String
    /// The copied deployment folder (compose file, `.env`, bind-mounted data).
    public let directory: URL

    public var path: String { directory.path }
    /// The engine this deployment runs on when it is not the test engine (`tcp://…` of the remote test
    /// engine): every compose, docker and upshift call of this copy goes there.
    public let dockerHost: String?

    /// Copies `compose/<sample>` (or any folder, via `source`) to a fresh temp folder with a unique project name.
    public init(sample: String, source: URL? = nil, namePrefix: String? = nil, dockerHost: String? = nil) throws {
        self.sample = sample
        self.dockerHost = dockerHost
        projectName = E2EEnvironment.uniqueName("e2e-\(namePrefix ?? sample)")
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-e2e")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        directory = parent.appendingPathComponent(projectName)
        let from = source ?? E2EEnvironment.sampleDirectory(sample)
        guard FileManager.default.fileExists(atPath: from.path) else {
            throw E2EFailure("sample deployment \(from.path) does not exist")
        }
        try FileManager.default.copyItem(at: from, to: directory)
    }

    /// A fresh deployment folder holding just `files` (relative path -> text), e.g. an inline compose file.
    public convenience init(files: [String: String], namePrefix: String) throws {
        let staging = FileManager.default.temporaryDirectory
            .appendingPathComponent("upshift-e2e-staging-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        for (relative, text) in files {
            let file = staging.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        try self.init(sample: namePrefix, source: staging, namePrefix: namePrefix)
    }

    /// Runs `body` with a fresh copy of `sample`, then tears it down (`down -v`, files removed) whether `body`
    /// returned or threw. On failure the last compose logs are attached to the thrown error.
    public static func with<T: Sendable>(
        sample: String,
        namePrefix: String? = nil,
        dockerHost: String? = nil,
        _ body: (E2EDeployment) async throws -> T
    ) async throws -> T {
        try await run(try E2EDeployment(sample: sample, namePrefix: namePrefix, dockerHost: dockerHost), body)
    }

    /// Like `with(sample:)` for a deployment made of inline `files`.
    public static func with<T: Sendable>(
        files: [String: String],
        namePrefix: String,
        _ body: (E2EDeployment) async throws -> T
    ) async throws -> T {
        try await run(try E2EDeployment(files: files, namePrefix: namePrefix), body)
    }

    private static func run<T: Sendable>(_ deployment: E2EDeployment, _ body: (E2EDeployment) async throws -> T) async throws -> T {
        do {
            let value = try await body(deployment)
            try await deployment.tearDown()
            return value
        } catch {
            let logs = (try? await deployment.compose(["logs", "--no-color", "--tail", "60"]).stdout) ?? ""
            try? await deployment.tearDown()
            throw E2EFailure("\(error)\n--- compose logs of \(deployment.projectName) (tail)\n\(logs.suffix(6000))")
        }
    }

    // MARK: - Files

    public func url(_ relativePath: String) -> URL { directory.appendingPathComponent(relativePath) }

    public func read(_ relativePath: String) throws -> String {
        try String(contentsOf: url(relativePath), encoding: .utf8)
    }

    public func write(_ relativePath: String, _ text: String) throws {
        try text.write(to: url(relativePath), atomically: true, encoding: .utf8)
    }

    /// Sets `KEY=value` in the copy's `.env` (replacing an existing assignment, else appending).
    public func setEnv(_ key: String, _ value: String) throws {
        let file = url(".env")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let index = lines.firstIndex(where: { $0.hasPrefix("\(key)=") }) {
            lines[index] = "\(key)=\(value)"
        } else {
            lines.append("\(key)=\(value)")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
    }

    // MARK: - Compose

    /// `docker compose --ansi never -p <project> ARGS` in the copy's folder. A non-zero exit is returned, not thrown.
    public func compose(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, timeout: Duration = .seconds(300)) async throws -> E2EOutput {
        let command = Command(
            "docker", ["compose", "--ansi", "never", "-p", projectName] + arguments,
            environment: engineEnvironment.merging(environment) { $1 }.merging(["PWD": path]) { $1 },
            workingDirectory: path, standardInput: stdin, timeout: timeout)
        return E2EOutput(try await E2EEnvironment.runner.run(command))
    }

    /// Like `compose(_:)` but throws `E2EFailure` with the output tails on a non-zero exit.
    @discardableResult
    public func composeChecked(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, timeout: Duration = .seconds(300)) async throws -> E2EOutput {
        try await compose(arguments, environment: environment, stdin: stdin, timeout: timeout)
            .checked("docker compose \(arguments.joined(separator: " ")) in \(projectName)")
    }

    /// `up -d --wait` (all services, or the given ones): returns once every started service is running/healthy.
    public func up(_ services: [String] = [], timeout: Duration = .seconds(300)) async throws {
        try await composeChecked(["up", "-d", "--wait", "--wait-timeout", "\(Int(timeout.components.seconds))"] + services, timeout: timeout + .seconds(30))
        try await waitForFinalPostgres(deadline: .now + timeout)
    }

    /// A fresh cluster's entrypoint answers on the socket from a temporary server while it initialises, then
    /// shuts that down (`FATAL: the database system is shutting down`): a socket healthcheck calls it healthy
    /// too early. Ready means process 1 is the final `postgres` and it accepts connections.
    public func waitForFinalPostgres(deadline: ContinuousClock.Instant) async throws {
        let listing = try await composeChecked(["ps", "--format", "{{.Service}}\t{{.Image}}"]).stdout
        let databases = listing.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 2, ["postgres", "postgis", "pgvector", "timescale"].contains(where: { fields[1].contains($0) }) else { return nil }
            return fields[0]
        }
        // Process 1 is the entrypoint script while it initialises, postgres once the final server runs, anything
        // else in a container of the image that runs no server (a pg_dump sidecar): only the first waits.
        // -U: Bitnami's uid 1001 has no passwd entry, and pg_isready without a user name gives up (exit 3).
        let probe = #"""
            case "$(cat /proc/1/comm)" in
              postgres) pg_isready -q -U postgres || pg_isready -q -U postgres -h 127.0.0.1 ;;
              docker-entrypoi|entrypoint.sh|run.sh) exit 1 ;;
              *) exit 0 ;;
            esac
            """#
        for service in databases {
            while try await exec(service, ["sh", "-c", probe], timeout: .seconds(30)).exitCode != 0 {
                guard ContinuousClock.now < deadline else { throw E2EFailure("\(service) of \(projectName): the final postgres server did not come up") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// `exec -T [--user U] SERVICE ARGV...`: no TTY, output captured. Secrets go in `environment` (passed as `-e NAME`
    /// so the value travels in the child environment, never in argv).
    public func exec(_ service: String, _ argv: [String], user: String? = nil, environment: [String: String] = [:], stdin: Data? = nil, timeout: Duration = .seconds(120)) async throws -> E2EOutput {
        var arguments = ["exec", "-T"]
        if let user { arguments += ["--user", user] }
        for name in environment.keys.sorted() { arguments += ["-e", name] }
        arguments.append(service)
        arguments += argv
        return try await compose(arguments, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// The container id of `service` (empty when it has none).
    public func containerID(_ service: String) async throws -> String {
        try await composeChecked(["ps", "-a", "-q", service]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The host port published for `service`'s `containerPort` (e.g. 5432), from `docker compose port`.
    public func publishedPort(_ service: String, _ containerPort: Int) async throws -> Int {
        let out = try await composeChecked(["port", service, "\(containerPort)"]).stdout
        guard let last = out.split(whereSeparator: \.isNewline).first?.split(separator: ":").last, let port = Int(last) else {
            throw E2EFailure("no published port for \(service):\(containerPort) in \(projectName): \(out)")
        }
        return port
    }

    /// The test engine's environment, pointed at this copy's engine. An `ssh://` engine also gets the test
    /// environment's `ssh` wrapper first in PATH (`UPSHIFT_REMOTE_SSH_PATH`: its key and known hosts).
    public var engineEnvironment: [String: String] {
        var environment = E2EEnvironment.childEnvironment
        guard let dockerHost else { return environment }
        environment["DOCKER_HOST"] = dockerHost
        let process = ProcessInfo.processInfo.environment
        if dockerHost.hasPrefix("ssh://"), let wrapper = process["UPSHIFT_REMOTE_SSH_PATH"], !wrapper.isEmpty {
            environment["PATH"] = wrapper + ":" + (process["PATH"] ?? "/usr/bin:/bin")
        }
        return environment
    }

    /// `docker ARGS` on this copy's engine.
    public func docker(_ arguments: [String], timeout: Duration = .seconds(300)) async throws -> E2EOutput {
        try await E2EEnvironment.docker(arguments, environment: engineEnvironment, timeout: timeout)
    }

    // MARK: - upshift

    /// Runs the built `upshift` binary in the copy's folder, as a user would. `environment` is added to the test
    /// process's environment (with `DOCKER_HOST` pointing at the test engine).
    public func upshift(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, timeout: Duration = .seconds(600)) async throws -> E2EOutput {
        try await E2EUpshift.run(arguments, workingDirectory: path, environment: (dockerHost == nil ? [:] : engineEnvironment).merging(environment) { $1 }, stdin: stdin, timeout: timeout)
    }

    // MARK: - Teardown

    /// `down -v --remove-orphans -t 5`, then removes the folder. Files written by containers (uid 999) are removed
    /// directly when the test runs as root, else by a short-lived helper container that mounts the folder.
    public func tearDown() async throws {
        var problems: [String] = []
        if FileManager.default.fileExists(atPath: path) {
            let down = try await compose(["down", "-v", "--remove-orphans", "-t", "5"], timeout: .seconds(180))
            if !down.succeeded { problems.append("compose down: \(down)") }
        }
        do {
            try await removeFolder()
        } catch {
            problems.append("removing \(path): \(error)")
        }
        if !problems.isEmpty { throw E2EFailure("teardown of \(projectName): " + problems.joined(separator: "\n")) }
    }

    private func removeFolder() async throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if dockerHost != nil {
            // What the containers wrote is on the engine's host, under the same path: emptied there.
            try await docker(
                ["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", "-v", "\(path):/w", "postgres:15",
                 "-c", "rm -rf /w/* /w/.[!.]* /w/..?*"], timeout: .seconds(120)).checked("emptying \(path) on \(dockerHost ?? "")")
        }
        do {
            try FileManager.default.removeItem(at: directory)
        } catch {
            // Not root: empty the folder from inside a container (which runs as root), then remove what is left.
            let outcome = try await E2EEnvironment.docker(
                ["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", "-v", "\(path):/w", "postgres:15",
                 "-c", "rm -rf /w/* /w/.[!.]* /w/..?*"], timeout: .seconds(120))
            try outcome.checked("helper container emptying \(path)")
            try FileManager.default.removeItem(at: directory)
        }
    }
}

/// Running the built `upshift` binary and capturing what a user would see.
public enum E2EUpshift {
    /// Runs `upshift ARGS` (binary from `E2EEnvironment.upshiftBinary`) and returns exit code, stdout and stderr.
    public static func run(_ arguments: [String], workingDirectory: String? = nil, environment: [String: String] = [:], stdin: Data? = nil, timeout: Duration = .seconds(600)) async throws -> E2EOutput {
        guard let binary = E2EEnvironment.upshiftBinary else {
            throw E2EFailure("the upshift binary was not found: build it (swift build) or set UPSHIFT_BIN")
        }
        let command = Command(
            binary, arguments,
            environment: E2EEnvironment.childEnvironment.merging(environment) { $1 },
            workingDirectory: workingDirectory, standardInput: stdin, timeout: timeout)
        return E2EOutput(try await E2EEnvironment.runner.run(command))
    }
}
