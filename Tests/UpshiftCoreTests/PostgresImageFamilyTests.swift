import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftSupport

/// Image families: recognised under any registry prefix, the major read in each tag scheme, and the target tags
/// for a new major in the order they are tried.
struct PostgresImageFamilyTests {
    static func family(_ text: String) -> PostgresImageFamily? { ImageReference(parsing: text)?.family }

    @Test func recognisesFamiliesUnderRegistryPrefixes() {
        #expect(Self.family("postgres:15") == .official)
        #expect(Self.family("docker.io/library/postgres:15") == .official)
        #expect(Self.family("mirror.example.com:5000/library/postgres:15") == .official)
        #expect(Self.family("postgis/postgis:15-3.4") == .postgis)
        #expect(Self.family("docker.io/postgis/postgis:15-3.4-alpine") == .postgis)
        #expect(Self.family("pgvector/pgvector:pg15") == .pgvector)
        #expect(Self.family("timescale/timescaledb:latest-pg15") == .timescaledb)
        #expect(Self.family("timescale/timescaledb-ha:pg15") == .timescaledbHA)
        #expect(Self.family("bitnami/postgresql:15") == .bitnami)
        #expect(Self.family("docker.io/bitnamilegacy/postgresql:15.6.0") == .bitnami)
        #expect(Self.family("ghcr.io/immich-app/postgres:14-vectorchord0.4.3") == nil)
        #expect(Self.family("postgrest/postgrest:v12") == nil)
    }

    @Test(arguments: [
        ("postgres:15.8-bookworm", 15), ("postgis/postgis:15-3.4-alpine", 15), ("pgvector/pgvector:pg15", 15),
        ("pgvector/pgvector:0.8.0-pg16-bookworm", 16), ("timescale/timescaledb:2.14.2-pg15-oss", 15),
        ("timescale/timescaledb:latest-pg16", 16), ("timescale/timescaledb-ha:pg15.6-ts2.14.2-all", 15),
        ("bitnami/postgresql:15.6.0-debian-12-r7", 15),
    ])
    func readsTheMajorInEachScheme(image: String, major: Int) {
        #expect(ImageReference(parsing: image)?.major == major)
    }

    @Test func floatingTagsNameNoMajor() {
        #expect(ImageReference(parsing: "pgvector/pgvector:latest")?.major == nil)
        #expect(ImageReference(parsing: "timescale/timescaledb:latest")?.major == nil)
    }

    @Test(arguments: [
        ("postgres:15-alpine", ["18-alpine"]),
        ("postgis/postgis:15-3.4", ["18-3.6"]),
        ("postgis/postgis:15-3.4-alpine", ["18-3.6-alpine"]),
        ("postgis/postgis:16-3.6", ["18-3.6"]),
        ("postgis/postgis:latest", ["18-3.6"]),
        ("pgvector/pgvector:pg15", ["pg18"]),
        ("pgvector/pgvector:0.8.0-pg15", ["pg18"]),
        ("pgvector/pgvector:0.8.1-pg16-bookworm", ["0.8.1-pg18-bookworm", "pg18-bookworm"]),
        ("timescale/timescaledb:latest-pg15", ["latest-pg18"]),
        ("timescale/timescaledb:2.14.2-pg15", ["latest-pg18"]),
        ("timescale/timescaledb:2.23.0-pg17-oss", ["2.23.0-pg18-oss", "latest-pg18-oss"]),
        ("timescale/timescaledb-ha:pg15", ["pg18"]),
        ("timescale/timescaledb-ha:pg15.6-ts2.14.2-all", ["pg18-all"]),
        ("timescale/timescaledb-ha:pg17-ts2.23.1", ["pg18-ts2.23.1", "pg18"]),
        ("bitnami/postgresql:15", ["18"]),
        ("bitnami/postgresql:15.6.0-debian-12-r7", ["18-debian-12", "18"]),
    ])
    func targetTagsForEighteen(image: String, expected: [String]) throws {
        let reference = try #require(ImageReference(parsing: image))
        #expect(try reference.family!.targetTags(from: reference.tag, targetMajor: 18) == expected)
    }

    @Test func customImagesNeedAnExplicitTarget() {
        #expect(throws: UpshiftError.self) { try PostgresImageFamily.custom.targetTags(from: "14-vectorchord0.4.3", targetMajor: 18) }
    }

    @Test func familyLayouts() {
        #expect(PostgresImageFamily.bitnami.defaultPGData(major: 18) == "/bitnami/postgresql/data")
        #expect(PostgresImageFamily.timescaledbHA.defaultPGData(major: 15) == "/home/postgres/pgdata/data")
        #expect(PostgresImageFamily.pgvector.defaultPGData(major: 18) == "/var/lib/postgresql/18/docker")
        #expect(PostgresImageFamily.postgis.defaultPGData(major: 15) == "/var/lib/postgresql/data")
    }

    @Test func digestPinnedReferenceIsReplacedWhole() throws {
        let new = "postgres:18@sha256:" + String(repeating: "b", count: 64)
        let old = "postgres:15@sha256:" + String(repeating: "a", count: 64)
        #expect(try TagRewriter.rewrite(value: old, change: .reference(new), isReference: true) == new)
        #expect(try TagRewriter.rewrite(value: "15", change: .reference("postgres:18")) == "18")
    }

    @Test func extensionCatalogParsesControlsAndModules() {
        let catalog = ExtensionCatalog.parse("control|vector|0.8.6|$libdir/vector\ncontrol|hstore|1.8|$libdir/hstore\ncontrol|citext|1.6|\nmodule|vector\n")
        let installed = [InstalledExtension(database: "app", name: "vector", version: "0.7.0"),
                         InstalledExtension(database: "app", name: "hstore", version: "1.8"),
                         InstalledExtension(database: "app", name: "citext", version: "1.6"),
                         InstalledExtension(database: "app", name: "postgis", version: "3.3.2")]
        #expect(catalog.missing(installed).map(\.name) == ["hstore", "postgis"])
        #expect(UpdateExtensionsStep.report(before: installed, after: [InstalledExtension(database: "app", name: "vector", version: "0.8.6"),
                                                                       InstalledExtension(database: "app", name: "citext", version: "1.6")])
                == ["app: vector 0.7.0 -> 0.8.6", "app: hstore 1.8 -> missing", "app: citext 1.6 (unchanged)", "app: postgis 3.3.2 -> missing"])
    }
}
