/// What the user told upshift about the project, in compose's own terms (the global options every command
/// takes). Paths are as typed; `ComposeDiscovery` resolves them against the invocation's cwd.
public struct ComposeOptions: Sendable, Hashable, Codable {
    /// `-C/--project-directory`.
    public var projectDirectory: String?
    /// `-f/--file`, repeatable, in order.
    public var files: [String]
    /// `-p/--project-name`.
    public var projectName: String?
    /// `--env-file`, repeatable; later files override earlier ones.
    public var envFiles: [String]
    /// `--db-service`: which service is the database when the image does not say.
    public var dbService: String?

    public init(
        projectDirectory: String? = nil, files: [String] = [], projectName: String? = nil, envFiles: [String] = [],
        dbService: String? = nil
    ) {
        self.projectDirectory = projectDirectory
        self.files = files
        self.projectName = projectName
        self.envFiles = envFiles
        self.dbService = dbService
    }
}
