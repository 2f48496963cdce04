import Testing
import UpshiftCompose

struct ComposeImageReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        var text: String
        var registry: String?
        var path: String
        var tag: String?
        var digest: String?
        var major: Int?
        var variant: String?
        var description: String { text }
    }

    static let cases: [Case] = [
        Case(text: "postgres", path: "postgres"),
        Case(text: "postgres:15", path: "postgres", tag: "15", major: 15),
        Case(text: "postgres:15.8", path: "postgres", tag: "15.8", major: 15),
        Case(text: "postgres:15-alpine", path: "postgres", tag: "15-alpine", major: 15, variant: "alpine"),
        Case(text: "docker.io/library/postgres:15.8-bookworm", registry: "docker.io", path: "library/postgres",
             tag: "15.8-bookworm", major: 15, variant: "bookworm"),
        Case(text: "myreg:5000/postgres:15-alpine", registry: "myreg:5000", path: "postgres", tag: "15-alpine",
             major: 15, variant: "alpine"),
        Case(text: "postgres@sha256:abc123", path: "postgres", digest: "sha256:abc123"),
        Case(text: "postgres:15@sha256:abc123", path: "postgres", tag: "15", digest: "sha256:abc123", major: 15),
        Case(text: "localhost/postgres:18beta1", registry: "localhost", path: "postgres", tag: "18beta1", major: 18),
        Case(text: "postgres:latest", path: "postgres", tag: "latest"),
        Case(text: "inventree/inventree:0.17.0", path: "inventree/inventree", tag: "0.17.0", major: 0),
        Case(text: "ghcr.io/org/sub/img:1.2-rc1", registry: "ghcr.io", path: "org/sub/img", tag: "1.2-rc1", major: 1,
             variant: "rc1"),
    ]

    @Test(arguments: cases) func parses(_ c: Case) throws {
        let ref = try #require(ImageReference(parsing: c.text))
        #expect(ref.registry == c.registry)
        #expect(ref.path == c.path)
        #expect(ref.tag == c.tag)
        #expect(ref.digest == c.digest)
        #expect(ref.major == c.major)
        #expect(ref.variant == c.variant)
        #expect(ref.description == c.text)
    }

    @Test(arguments: [
        "postgres", "postgres:16", "docker.io/library/postgres:16", "library/postgres:15", "myreg:5000/postgres:15-alpine",
        "registry.example.com/library/postgres:16.4", "postgres@sha256:abc",
    ])
    func isPostgres(_ text: String) throws {
        #expect(try #require(ImageReference(parsing: text)).isPostgres)
    }

    @Test(arguments: ["postgresql:15", "bitnami/postgresql:15", "postgis/postgis:15-3.4", "someone/postgres:15", "redis:7"])
    func isNotPostgres(_ text: String) throws {
        #expect(try #require(ImageReference(parsing: text)).isPostgres == false)
    }

    @Test(arguments: ["", "postgres:", "postgres@", "/postgres", "postgres@sha256:"])
    func rejectsMalformed(_ text: String) {
        #expect(ImageReference(parsing: text) == nil)
    }

    @Test func repositoryDropsImplicitLibrary() throws {
        #expect(ImageReference(parsing: "docker.io/library/postgres:15")?.repository == "postgres")
        #expect(ImageReference(parsing: "inventree/inventree")?.repository == "inventree/inventree")
        #expect(ImageReference(parsing: "postgres:15.8-bookworm")?.version == "15.8")
    }

    @Test func withTagDropsDigest() throws {
        let ref = try #require(ImageReference(parsing: "myreg:5000/postgres:15@sha256:abc"))
        #expect(ref.withTag("18").description == "myreg:5000/postgres:18")
        #expect(ImageReference(parsing: "postgres:15.8-bookworm")?.withMajor(18).description == "postgres:18-bookworm")
    }
}
