import Foundation
import UpshiftSupport

/// A compose project located, checked against the installed compose, and resolved by `config`: the
/// starting point of every upshift command.
public struct ComposeProject: Sendable {
    public var location: ComposeProjectLocation
    public var cli: ComposeCLI
    public var config: ComposeConfig
    public var options: ComposeOptions

    public var name: String { config.name }
    public var tool: ComposeTool { cli.tool }

    /// Locates the project (compose's discovery rules), finds compose v2+, and reads `config`.
    /// - Parameter tool: compose as already detected (`ComposeCLI.detect`); `nil` detects it here. The fleet
    ///   view loads many projects from one engine and asks which compose there is only once.
    /// - Throws: `UpshiftError`: no compose file (64), compose rejects the project (64, compose's own
    ///   message), docker/compose missing or v1 only (69).
    public static func load(
        options: ComposeOptions, runner: any CommandRunning, tool: ComposeTool? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) async throws -> ComposeProject {
        let location = try ComposeDiscovery(currentDirectory: currentDirectory, environment: environment).locate(options)
        let detected: ComposeTool
        if let tool { detected = tool } else { detected = try await ComposeCLI.detect(runner: runner, environment: environment) }
        var cli = ComposeCLI(runner: runner, tool: detected, location: location)
        let config = try await cli.config()
        return ComposeProject(location: location, cli: cli, config: config, options: options)
    }

    public init(location: ComposeProjectLocation, cli: ComposeCLI, config: ComposeConfig, options: ComposeOptions) {
        self.location = location
        self.cli = cli
        self.config = config
        self.options = options
    }

    /// The database service (`--db-service` or the one postgres image).
    public func database() throws -> DatabaseService {
        try DatabaseService.select(from: config, named: options.dbService)
    }

    /// Which file and line define `service`'s image.
    public func imageSource(service: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> ImageSource? {
        ImageSourceLocator(files: location.files, envFiles: location.envFiles, environment: environment).locate(service: service)
    }
}
