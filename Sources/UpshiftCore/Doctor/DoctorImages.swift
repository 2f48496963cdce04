import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

/// Read-only questions about images: is it local, what does it say about itself, does a registry have it.
/// Nothing here pulls: `docker run` is only used on images already in the local store.
struct DoctorImages: Sendable {
    var runner: any CommandRunning

    func isLocal(_ image: String) async -> Bool {
        guard let result = try? await runner.run(Command("docker", ["image", "inspect", "--format", "{{.Id}}", image], timeout: .seconds(30))) else { return false }
        return result.termination.isSuccess
    }

    /// `Config.Env` of a local image as a dictionary.
    func environment(_ image: String) async -> [String: String]? {
        guard let result = try? await runner.run(Command("docker", ["image", "inspect", "--format", "{{json .Config.Env}}", image], timeout: .seconds(30))),
              result.termination.isSuccess,
              let list = try? JSONDecoder().decode([String].self, from: result.standardOutput) else { return nil }
        var env: [String: String] = [:]
        for entry in list {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            env[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        return env
    }

    /// The uid of user `postgres` in a local image (`id -u postgres` in a throw-away container).
    func postgresUID(_ image: String) async -> Int? {
        guard let result = try? await runner.run(Command("docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--entrypoint", "id", image, "-u", "postgres"], timeout: .seconds(60))),
              result.termination.isSuccess else { return nil }
        return Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `pg_dump --version` of a local image, as a major.
    func pgDumpMajor(_ image: String) async -> Result<Int, UpshiftError> {
        do {
            let result = try await runner.run(Command("docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--entrypoint", "pg_dump", image, "--version"], timeout: .seconds(120)))
            guard result.termination.isSuccess else {
                return .failure(UpshiftError(result.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(result.termination)"))
            }
            guard let major = InvenTreeTasks.clientMajor(fromVersionLine: result.stdoutText) else {
                return .failure(UpshiftError("unexpected output: \(result.stdoutText.prefix(80))"))
            }
            return .success(major)
        } catch {
            return .failure(UpshiftError("\(error)"))
        }
    }

    /// Local store first (`docker image inspect`), then the registry (`docker manifest inspect`), never a
    /// pull. For Docker Hub images on an engine configured with a registry mirror, the mirror is asked:
    /// that is where the engine's `docker pull` goes.
    func availability(_ reference: ImageReference) async -> DoctorRules.ImageAvailability {
        if await isLocal(reference.description) { return .local }
        var target = reference.description
        var registry = reference.registry ?? "docker.io"
        var insecure = false
        if reference.isDockerHub, let mirror = await dockerHubMirror() {
            let path = reference.path.contains("/") ? reference.path : "library/\(reference.path)"
            target = "\(mirror.host)/\(path):\(reference.tag ?? "latest")"
            registry = "the engine's Docker Hub mirror \(mirror.host)"
            insecure = mirror.insecure
        }
        var args = ["manifest", "inspect"]
        if insecure { args.append("--insecure") }
        args.append(target)
        guard let result = try? await runner.run(Command("docker", args, timeout: .seconds(60))) else {
            return .unknown(message: "docker manifest inspect could not run")
        }
        if result.termination.isSuccess { return .inRegistry(registry: registry) }
        let message = (result.stderrText + result.stdoutText).split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(result.termination)"
        let lower = message.lowercased()
        if lower.contains("no such manifest") || lower.contains("manifest unknown") || lower.contains("not found") {
            return .missing(registry: registry, message: message)
        }
        return .unknown(message: message)
    }

    /// The first registry mirror of the engine (`docker info`), as `host[:port]`.
    func dockerHubMirror() async -> (host: String, insecure: Bool)? {
        guard let result = try? await runner.run(Command("docker", ["info", "--format", "{{json .RegistryConfig.Mirrors}}"], timeout: .seconds(30))),
              result.termination.isSuccess,
              let decoded = try? JSONDecoder().decode([String]?.self, from: result.standardOutput), let first = decoded.first,
              let url = URL(string: first), let host = url.host else { return nil }
        return (url.port.map { "\(host):\($0)" } ?? host, url.scheme == "http")
    }

    /// Containers on the engine that update or restart others behind upshift's back.
    func watchers() async -> [String] {
        guard let result = try? await runner.run(Command("docker", ["ps", "--format", "{{.Names}} {{.Image}}"], timeout: .seconds(30))),
              result.termination.isSuccess else { return [] }
        let known = ["watchtower", "autoheal", "ouroboros"]
        return result.stdoutText.split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { return nil }
            let image = parts[1].lowercased()
            return known.contains { image.contains($0) } ? "\(parts[0]) (\(parts[1]))" : nil
        }
    }
}
