import Foundation
import UpshiftSupport

/// One docker engine the fleet view looks at: a context's name and how every child reaches it.
public struct FleetTarget: Sendable, Hashable {
    /// The context's name as the user or `docker context ls` gave it (shown in every row).
    public var context: String
    /// How docker and compose children reach it (`DOCKER_CONTEXT=<context>`, no `DOCKER_HOST`).
    public var engine: DockerEngine

    public init(context: String, engine: DockerEngine) {
        self.context = context
        self.engine = engine
    }

    /// A named context, reached the way `--context NAME` reaches it for a single-project command.
    public static func named(_ context: String) -> FleetTarget {
        FleetTarget(context: context, engine: DockerEngine(context: context))
    }

    /// Targets for `--context A --context B …`, in the order given, each name once.
    public static func named(_ contexts: [String]) -> [FleetTarget] {
        var seen: Set<String> = []
        return contexts.filter { seen.insert($0).inserted }.map(named)
    }

    /// Every context `docker context ls` knows, in its order. `default` follows `DOCKER_HOST` when that is set
    /// (docker lists it with that endpoint), so it is reached through the inherited environment then.
    /// - Throws: `UpshiftError` (69) when docker cannot list its contexts.
    public static func all(
        runner: any CommandRunning, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> [FleetTarget] {
        let result = try await runner.run(Command("docker", ["context", "ls", "--format", "json"], timeout: .seconds(30)))
        guard result.termination.isSuccess else {
            throw UpshiftError.unavailable(
                "docker cannot list its contexts: \(result.stderrText.split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(result.termination)")",
                hint: "name the contexts with --context NAME (repeatable)")
        }
        let hostSet = !(environment["DOCKER_HOST"] ?? "").isEmpty
        return named(contextNames(result.stdoutText)).map {
            $0.context == "default" && hostSet ? FleetTarget(context: "default", engine: .inherited) : $0
        }
    }

    /// The names in `docker context ls --format json`: one JSON object per line (docker 23+) or one array
    /// (older CLIs). Lines that are not JSON are skipped.
    public static func contextNames(_ text: String) -> [String] {
        struct Entry: Decodable { var Name: String }
        let data = Data(text.utf8)
        if let array = try? JSONDecoder().decode([Entry].self, from: data) { return array.map(\.Name) }
        return text.split(whereSeparator: \.isNewline).compactMap {
            try? JSONDecoder().decode(Entry.self, from: Data($0.utf8)).Name
        }
    }
}
