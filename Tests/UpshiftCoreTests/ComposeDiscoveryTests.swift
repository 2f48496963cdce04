import Foundation
import Testing
import UpshiftCompose
import UpshiftSupport

/// Compose's discovery rules, on an in-memory set of files.
struct ComposeDiscoveryTests {
    func discovery(cwd: String, env: [String: String] = [:], files: Set<String>, dotEnv: [String: String] = [:]) -> ComposeDiscovery {
        ComposeDiscovery(currentDirectory: cwd, environment: env, fileExists: { files.contains($0) || dotEnv[$0] != nil })
    }

    @Test func autoDiscoveryPrefersComposeYamlAndAddsOverride() throws {
        let d = discovery(cwd: "/srv/app", files: [
            "/srv/app/docker-compose.yml", "/srv/app/compose.yaml", "/srv/app/docker-compose.override.yml",
            "/srv/app/compose.override.yaml",
        ])
        let location = try d.locate(ComposeOptions())
        #expect(location.files == ["/srv/app/compose.yaml", "/srv/app/compose.override.yaml"])
        #expect(location.directory == "/srv/app")
        #expect(location.fileSource == .discovered)
        #expect(location.explicitProjectName == nil)
    }

    @Test func walksUpFromASubdirectory() throws {
        let d = discovery(cwd: "/srv/app/deep/er", files: ["/srv/app/docker-compose.yml", "/srv/app/.env"])
        let location = try d.locate(ComposeOptions())
        #expect(location.files == ["/srv/app/docker-compose.yml"])
        #expect(location.directory == "/srv/app")
        #expect(location.envFiles == ["/srv/app/.env"])
    }

    @Test func cwdDotEnvOverridesProjectDotEnvLikeCompose() throws {
        let d = discovery(cwd: "/srv/app/sub", files: ["/srv/app/compose.yaml", "/srv/app/.env", "/srv/app/sub/.env"])
        // Passed explicitly, later files win: cwd's .env last, as compose's first-wins order has it first.
        #expect(try d.locate(ComposeOptions()).envFiles == ["/srv/app/.env", "/srv/app/sub/.env"])
    }

    @Test func fileFlagsAreRelativeToCwdAndSkipOverride() throws {
        let d = discovery(cwd: "/home/me", files: ["/srv/app/base.yml", "/home/me/extra.yml", "/srv/app/compose.override.yaml"])
        let location = try d.locate(ComposeOptions(files: ["/srv/app/base.yml", "extra.yml"], projectName: "prod"))
        #expect(location.files == ["/srv/app/base.yml", "/home/me/extra.yml"])
        #expect(location.directory == "/srv/app")
        #expect(location.explicitProjectName == "prod")
        #expect(location.fileSource == .flag)
    }

    @Test func projectDirectoryOption() throws {
        let d = discovery(cwd: "/", files: ["/srv/app/compose.yml", "/srv/app/.env"])
        let location = try d.locate(ComposeOptions(projectDirectory: "srv/app"))
        #expect(location.directory == "/srv/app")
        #expect(location.files == ["/srv/app/compose.yml"])
        #expect(location.envFiles == ["/srv/app/.env"])
    }

    @Test func composeFileVariableWithSeparatorAndProjectName() throws {
        let d = discovery(
            cwd: "/srv/app",
            env: ["COMPOSE_FILE": "a.yml;/etc/b.yml", "COMPOSE_PATH_SEPARATOR": ";", "COMPOSE_PROJECT_NAME": "named"],
            files: ["/srv/app/a.yml", "/etc/b.yml", "/srv/app/compose.yaml"])
        let location = try d.locate(ComposeOptions())
        #expect(location.files == ["/srv/app/a.yml", "/etc/b.yml"])
        #expect(location.fileSource == .composeFileVariable)
        #expect(location.explicitProjectName == "named")
    }

    /// Real files: COMPOSE_* in .env select the name and the files (compose-verified cases, see comments).
    @Test func composeVariablesFromDotEnv() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-disc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(root)/app", withIntermediateDirectories: true)
        for path in ["\(root)/app/compose.yaml", "\(root)/compose.yaml", "\(root)/app/other.yml"] {
            try "services: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        }
        try "COMPOSE_PROJECT_NAME=fromapp\n".write(toFile: "\(root)/app/.env", atomically: true, encoding: .utf8)
        try "COMPOSE_PROJECT_NAME=fromcwd\nCOMPOSE_FILE=app/other.yml\n".write(toFile: "\(root)/.env", atomically: true, encoding: .utf8)

        // `cd root && docker compose -f app/compose.yaml config` names the project "fromapp" (compose 5.6.1):
        // the .env of the first file's directory primes COMPOSE_*, not cwd's.
        let fromRoot = ComposeDiscovery(currentDirectory: root, environment: [:])
        #expect(try fromRoot.locate(ComposeOptions(files: ["app/compose.yaml"])).explicitProjectName == "fromapp")
        // Without -f, cwd's .env selects the files (relative to cwd) and the name.
        let located = try fromRoot.locate(ComposeOptions())
        #expect(located.files == ["\(root)/app/other.yml"])
        #expect(located.fileSource == .composeFileVariable)
        #expect(located.explicitProjectName == "fromcwd")
        // The shell beats .env.
        let shell = ComposeDiscovery(currentDirectory: root, environment: ["COMPOSE_PROJECT_NAME": "fromshell"])
        #expect(try shell.locate(ComposeOptions()).explicitProjectName == "fromshell")
    }

    @Test func flagsBeatEnvironment() throws {
        let d = discovery(cwd: "/srv", env: ["COMPOSE_FILE": "nope.yml", "COMPOSE_PROJECT_NAME": "env"], files: ["/srv/mine.yml"])
        let location = try d.locate(ComposeOptions(files: ["mine.yml"], projectName: "flag", envFiles: []))
        #expect(location.files == ["/srv/mine.yml"])
        #expect(location.explicitProjectName == "flag")
    }

    @Test func explicitEnvFileReplacesDotEnv() throws {
        let d = discovery(cwd: "/srv/app", files: ["/srv/app/compose.yaml", "/srv/app/.env", "/srv/app/prod.env"])
        #expect(try d.locate(ComposeOptions(envFiles: ["prod.env"])).envFiles == ["/srv/app/prod.env"])
    }

    @Test func noComposeFile() {
        let error = #expect(throws: UpshiftError.self) { try discovery(cwd: "/srv/empty", files: []).locate(ComposeOptions()) }
        #expect(error?.message == "no compose file found in /srv/empty or any parent directory")
        #expect(error?.exitCode == .usage)
    }

    @Test func missingNamedFileAndStdin() {
        let d = discovery(cwd: "/srv", files: [])
        #expect(throws: UpshiftError.self) { try d.locate(ComposeOptions(files: ["gone.yml"])) }
        #expect(throws: UpshiftError.self) { try d.locate(ComposeOptions(files: ["-"])) }
        #expect(throws: UpshiftError.self) { try d.locate(ComposeOptions(envFiles: ["gone.env"])) }
    }
}
