import Testing
import UpshiftCompose

/// Finding the file and line that define a service's image.
struct ComposeImageSourceTests {
    @Test func inventreeTagFromDotEnv() throws {
        let dir = ComposeFixtures.directory("inventree")
        let locator = ImageSourceLocator(files: ["\(dir)/docker-compose.yml"], envFiles: ["\(dir)/.env"], environment: [:])
        let source = try #require(locator.locate(service: "inventree-db"))
        #expect(source.file == "\(dir)/docker-compose.yml")
        #expect(source.line == 5)
        #expect(source.rawValue == "postgres:${INVENTREE_DB_TAG:-13}")
        #expect(source.kind == .envVariable(name: "INVENTREE_DB_TAG", envFile: "\(dir)/.env", line: 15))
        // The server's tag is in the same .env.
        let server = try #require(locator.locate(service: "inventree-server"))
        #expect(server.line == 29)
        #expect(server.kind == .envVariable(name: "INVENTREE_TAG", envFile: "\(dir)/.env", line: 16))
    }

    @Test func shellEnvironmentBeatsDotEnv() throws {
        let dir = ComposeFixtures.directory("inventree")
        let locator = ImageSourceLocator(
            files: ["\(dir)/docker-compose.yml"], envFiles: ["\(dir)/.env"], environment: ["INVENTREE_DB_TAG": "16"])
        #expect(locator.locate(service: "inventree-db")?.kind == .shellEnvironment(name: "INVENTREE_DB_TAG"))
    }

    @Test func literalWithQuotesAndComment() throws {
        let dir = ComposeFixtures.directory("named-volume")
        let source = try #require(ImageSourceLocator(files: ["\(dir)/compose.yaml"], envFiles: [], environment: [:]).locate(service: "db"))
        #expect(source.line == 3)
        #expect(source.rawValue == "docker.io/library/postgres:16")
        #expect(source.kind == .literal)
    }

    @Test func overrideFileIsTheDefiner() throws {
        let dir = ComposeFixtures.directory("override")
        let locator = ImageSourceLocator(
            files: ["\(dir)/compose.yaml", "\(dir)/compose.override.yaml"], envFiles: [], environment: [:])
        let source = try #require(locator.locate(service: "db"))
        #expect(source.file == "\(dir)/compose.override.yaml")
        #expect(source.line == 3)
        #expect(source.rawValue == "myreg:5000/postgres:16-alpine")
    }

    @Test func inlineDefault() throws {
        let dir = ComposeFixtures.directory("pg-major-default")
        let source = try #require(
            ImageSourceLocator(files: ["\(dir)/docker-compose.yml"], envFiles: [], environment: [:]).locate(service: "postgres"))
        #expect(source.line == 3)
        #expect(source.kind == .default(name: "PG_MAJOR", value: "15"))
    }

    @Test func emptyValueUsesColonDefault() {
        let locator = ImageSourceLocator(files: ["/c.yml"], envFiles: ["/.env"], environment: [:]) { path in
            path == "/c.yml" ? "services:\n  db:\n    image: postgres:${T:-15}\n" : "T=\n"
        }
        #expect(locator.locate(service: "db")?.kind == .default(name: "T", value: "15"))
    }

    @Test func serviceNamesAndNestedKeysAreNotConfused() throws {
        let text = """
            x-base: &base
              image: postgres:99
            services:
              # a comment
              web:
                image: nginx
                environment:
                  image: not-this
              "db":
                build:
                  context: .
                  image: nested-not-this
                labels:
                  - "image: no"
                image: 'postgres:15' # pinned
              db-replica:
                image: postgres:14
            volumes:
              db:
                image: nope
            """
        let hit = try #require(ImageSourceLocator.findImageLine(service: "db", in: text))
        #expect(hit.line == 15)
        #expect(hit.value == "postgres:15")
        #expect(ImageSourceLocator.findImageLine(service: "web", in: text)?.line == 6)
        #expect(ImageSourceLocator.findImageLine(service: "db-replica", in: text)?.value == "postgres:14")
        #expect(ImageSourceLocator.findImageLine(service: "missing", in: text) == nil)
    }

    @Test func crlfAndTabsAndFlowStyle() {
        #expect(ImageSourceLocator.findImageLine(service: "db", in: "services:\r\n  db:\r\n    image: postgres:15\r\n")?.value == "postgres:15")
        #expect(ImageSourceLocator.findImageLine(service: "db", in: "services:\n  db: {image: postgres:15}\n") == nil)
    }

    @Test func unsupportedForms() {
        func kind(_ image: String, env: [String: String] = [:]) -> ImageSource.Kind? {
            ImageSourceLocator(files: ["/c.yml"], envFiles: [], environment: env) { _ in "services:\n  db:\n    image: \(image)\n" }
                .locate(service: "db")?.kind
        }
        #expect(kind("${REG}/postgres:15") == .unsupported(reason: "the variable REG is not in the tag"))
        #expect(kind("${REG}/postgres:${T}") == .unsupported(reason: "the image uses several variables"))
        #expect(kind("postgres:${T}") == .unsupported(reason: "the variable T is set nowhere and has no default"))
        #expect(kind("postgres:$T", env: ["T": "1"]) == .shellEnvironment(name: "T"))
        #expect(kind("${IMAGE:-postgres:15}") == .default(name: "IMAGE", value: "postgres:15"))
        #expect(kind("*pg") == .unsupported(reason: "the image is a YAML alias"))
    }

    @Test func dotEnvParsing() {
        let env = DotEnvFile(path: "/.env", text: """
            # comment
            export A=1
            B = "two # not a comment" 
            C='$literal'
            D=four # comment
            E: five
            A=override
            bad line
            """)
        #expect(env.values == ["A": "override", "B": "two # not a comment", "C": "$literal", "D": "four", "E": "five"])
        #expect(env.entry("A")?.line == 7)
        #expect(env.definitions(of: "A").count == 2)
    }
}
