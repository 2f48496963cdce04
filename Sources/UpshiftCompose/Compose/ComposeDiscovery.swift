import Foundation
import UpshiftSupport

/// Where a compose project is and which files make it, decided with compose's own rules so upshift
/// sees the same project `docker compose` would when run in the same place with the same flags.
///
/// Only *locating* is done here; everything about the model (merging, interpolation, profiles, the final
/// project name from `name:` or the directory) is left to compose, which upshift then always calls with
/// cwd = project directory and explicit `--project-directory`, `-f` and `--env-file`, so later calls cannot
/// drift from what was located here.
public struct ComposeProjectLocation: Sendable, Hashable, Codable {
    /// How the compose files were chosen, for `status` to explain.
    public enum FileSource: String, Sendable, Hashable, Codable {
        case flag, composeFileVariable, discovered
    }

    /// Absolute project directory: `--project-directory`, else the first file's directory.
    public var directory: String
    /// Absolute compose files in merge order (later ones override earlier ones).
    public var files: [String]
    public var fileSource: FileSource
    /// The name given by `-p` or `COMPOSE_PROJECT_NAME` (environment or `.env`). `nil`: compose decides
    /// (`name:` or the directory basename) and the name is read back from `config`.
    public var explicitProjectName: String?
    /// Absolute env files that feed interpolation, in override order (later wins). Empty: none exists.
    public var envFiles: [String]

    public init(
        directory: String, files: [String], fileSource: FileSource, explicitProjectName: String?, envFiles: [String]
    ) {
        self.directory = directory
        self.files = files
        self.fileSource = fileSource
        self.explicitProjectName = explicitProjectName
        self.envFiles = envFiles
    }
}

/// Compose's discovery rules (compose-go `cli/options.go`, docker/compose `toProjectOptions`).
public struct ComposeDiscovery: Sendable {
    public static let defaultFileNames = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"]
    public static let overrideFileNames = [
        "compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml",
    ]

    /// The directory upshift was started in.
    public var currentDirectory: String
    /// The process environment (injected so tests use literal dictionaries).
    public var environment: [String: String]
    public var fileExists: @Sendable (String) -> Bool

    public init(
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileExists: @escaping @Sendable (String) -> Bool = { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    ) {
        self.currentDirectory = currentDirectory
        self.environment = environment
        self.fileExists = fileExists
    }

    /// Locates the project for `options`.
    /// - Throws: `UpshiftError` (exit 64) when no compose file is found or a named file is missing.
    public func locate(_ options: ComposeOptions) throws -> ComposeProjectLocation {
        let cwd = Self.normalize(currentDirectory)
        let projectDirectoryOption = options.projectDirectory.map { Self.absolute($0, relativeTo: cwd) }

        // Env files given explicitly replace the default .env. Relative paths resolve against cwd.
        var explicitEnvFiles = options.envFiles.map { Self.absolute($0, relativeTo: cwd) }
        if explicitEnvFiles.isEmpty, let list = environment["COMPOSE_ENV_FILES"], !list.isEmpty {
            explicitEnvFiles = list.split(separator: ",").map { Self.absolute(String($0), relativeTo: cwd) }
        }
        for file in explicitEnvFiles where !fileExists(file) {
            throw UpshiftError.usage("env file \(file) not found")
        }

        // COMPOSE_* variables in the env file are copied into compose's environment when not already set.
        // Without --env-file that is the .env of compose's working directory at that point:
        // --project-directory, else the first -f file's directory, else cwd (compose-go GetWorkingDir).
        let firstFlagFile = options.files.first.flatMap { $0 == "-" ? nil : Self.parent(of: Self.absolute($0, relativeTo: cwd)) }
        let primingDirectory = projectDirectoryOption ?? firstFlagFile ?? cwd
        let primingEnvFiles = explicitEnvFiles.isEmpty ? [Self.join(primingDirectory, ".env")] : explicitEnvFiles
        var env = environment
        for path in primingEnvFiles {
            guard fileExists(path), let dotEnv = try DotEnvFile.load(path: path) else { continue }
            for (name, value) in dotEnv.values where name.hasPrefix("COMPOSE_") && env[name] == nil {
                env[name] = value
            }
        }

        var files: [String]
        let fileSource: ComposeProjectLocation.FileSource
        if !options.files.isEmpty {
            if options.files.contains("-") {
                throw UpshiftError.usage(
                    "a compose file from stdin (-f -) is not supported", hint: "save it to a file and pass -f FILE")
            }
            files = options.files.map { Self.absolute($0, relativeTo: cwd) }
            fileSource = .flag
        } else if let composeFile = env["COMPOSE_FILE"], !composeFile.isEmpty {
            let separator = env["COMPOSE_PATH_SEPARATOR"].flatMap { $0.isEmpty ? nil : $0 } ?? ":"
            files = composeFile.components(separatedBy: separator).filter { !$0.isEmpty }
                .map { Self.absolute($0, relativeTo: cwd) }
            fileSource = .composeFileVariable
        } else {
            files = try discover(startingAt: projectDirectoryOption ?? cwd)
            fileSource = .discovered
        }
        for file in files where !fileExists(file) {
            let origin = fileSource == .composeFileVariable ? " (from COMPOSE_FILE)" : ""
            throw UpshiftError.usage("compose file \(file) not found\(origin)")
        }

        let directory = projectDirectoryOption ?? Self.parent(of: files[0])
        let explicitName = options.projectName ?? env["COMPOSE_PROJECT_NAME"].flatMap { $0.isEmpty ? nil : $0 }

        var envFiles = explicitEnvFiles
        if envFiles.isEmpty {
            // Compose reads cwd's .env before discovery (only without -f and --project-directory), then the
            // project directory's; the first value wins. Passed explicitly, later files win: project first.
            let projectEnv = Self.join(directory, ".env")
            if fileExists(projectEnv) { envFiles.append(projectEnv) }
            let cwdEnv = Self.join(cwd, ".env")
            if options.files.isEmpty, options.projectDirectory == nil, cwdEnv != projectEnv, fileExists(cwdEnv) {
                envFiles.append(cwdEnv)
            }
        }
        return ComposeProjectLocation(
            directory: directory, files: files, fileSource: fileSource, explicitProjectName: explicitName,
            envFiles: envFiles)
    }

    /// Looks in `start`, then each parent, for the first default file name; adds the first override file
    /// found in the same directory.
    func discover(startingAt start: String) throws -> [String] {
        var directory = start
        while true {
            if let file = Self.defaultFileNames.map({ Self.join(directory, $0) }).first(where: fileExists) {
                var files = [file]
                if let override = Self.overrideFileNames.map({ Self.join(directory, $0) }).first(where: fileExists) {
                    files.append(override)
                }
                return files
            }
            let parent = Self.parent(of: directory)
            if parent == directory { break }
            directory = parent
        }
        throw UpshiftError.usage(
            "no compose file found in \(start) or any parent directory",
            hint: "run upshift in the project directory, or pass -C DIR or -f FILE "
                + "(looked for \(Self.defaultFileNames.joined(separator: ", ")))")
    }

    // MARK: - Paths (string based: these paths go to compose and docker verbatim)

    static func normalize(_ path: String) -> String {
        let standardized = (path as NSString).standardizingPath
        return standardized.isEmpty ? "/" : standardized
    }

    static func absolute(_ path: String, relativeTo base: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        if path == "~" || path.hasPrefix("~/") { return normalize((path as NSString).expandingTildeInPath) }
        return normalize(join(base, path))
    }

    static func join(_ base: String, _ component: String) -> String {
        base.hasSuffix("/") ? base + component : base + "/" + component
    }

    static func parent(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "/" : parent
    }
}
