import Foundation
import Testing
import UpshiftCompose
import UpshiftSupport

/// Which service is the database, its credentials, its PGDATA and the mount that holds it.
struct ComposeDatabaseServiceTests {
    @Test func inventreeLayout() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("inventree"))
        #expect(db.service == "inventree-db")
        #expect(db.imageMajor == 15)
        #expect(db.superuser == "pguser")
        #expect(db.database == "inventree")
        #expect(db.passwordSource == .environment)
        #expect(db.password?.revealed == "pgpassword")
        #expect(db.pgdataIsExplicit)
        #expect(db.dataLocation == DataLocation(
            kind: .bind, pgdata: "/var/lib/postgresql/data/pgdb", mountTarget: "/var/lib/postgresql/data",
            hostPath: "/srv/inventree/inventree-data", subpath: "pgdb"))
        #expect(db.dataLocation.hostDataDirectory == "/srv/inventree/inventree-data/pgdb")
        #expect(db.notes.isEmpty)
    }

    @Test func namedVolumeAtDefaultPGData() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("named-volume"))
        #expect(db.service == "db")
        #expect(db.imageMajor == 16)
        #expect(db.superuser == "postgres" && db.database == "postgres")
        #expect(db.password?.revealed == "pa$word")
        #expect(!db.pgdataIsExplicit)
        #expect(db.dataLocation == DataLocation(
            kind: .volume, pgdata: "/var/lib/postgresql/data", mountTarget: "/var/lib/postgresql/data",
            volumeName: "named-volume_pgdata", volumeKey: "pgdata", subpath: ""))
    }

    @Test func postgres18NewLayout() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("pg18"))
        #expect(db.imageMajor == 18)
        #expect(db.image.variant == "bookworm")
        #expect(db.database == "shop")
        #expect(db.dataLocation == DataLocation(
            kind: .volume, pgdata: "/var/lib/postgresql/18/docker", mountTarget: "/var/lib/postgresql",
            volumeName: "shop-pgdata", volumeKey: "pg", subpath: "18/docker"))
    }

    @Test func overrideImage() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("override"))
        #expect(db.image.registry == "myreg:5000")
        #expect(db.imageMajor == 16)
        #expect(db.dataLocation.kind == .bind)
        #expect(db.dataLocation.hostPath == "/srv/override/pgdata")
    }

    @Test func profileHiddenServiceIsNotAmbiguous() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("profiles"))
        #expect(db.service == "db")
        #expect(db.image.variant == "alpine")
    }

    @Test func customSuperuserAndPasswordFileFromSecret() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("custom-superuser")) { path in
            path == "/srv/custom-superuser/secrets/db_password.txt" ? "filepw\n" : nil
        }
        #expect(db.superuser == "app_admin")
        #expect(db.database == "app_admin")  // POSTGRES_DB defaults to the user
        #expect(db.passwordSource == .file(
            containerPath: "/run/secrets/db_password", hostPath: "/srv/custom-superuser/secrets/db_password.txt"))
        #expect(db.password?.revealed == "filepw")
        #expect(db.image.digest?.hasPrefix("sha256:") == true)
        #expect(db.notes == ["the image is pinned by digest (sha256:9a5ea4bd3b5b…): the engine pulls by digest and ignores the tag, so a tag change must also drop or replace the digest"])
    }

    @Test func passwordNeverEncoded() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("inventree"))
        let json = String(decoding: try JSONEncoder().encode(db), as: UTF8.self)
        #expect(!json.contains("pgpassword"))
    }

    // MARK: - Selection errors

    @Test func noPostgresService() throws {
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("no-postgres")) }
        #expect(error?.message.hasPrefix("no postgres service") == true)
        #expect(error?.exitCode == .usage)
    }

    @Test func twoPostgresWithoutChoice() throws {
        let error = #expect(throws: UpshiftError.self) { try DatabaseService.select(from: ComposeFixtures.config("two-postgres")) }
        #expect(error?.message.contains("analytics-db, main-db") == true)
        #expect(error?.hint?.contains("--db-service") == true)
    }

    @Test func twoPostgresWithChoice() throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("two-postgres"), named: "analytics-db")
        #expect(db.imageMajor == 16)
        #expect(db.dataLocation.kind == .none)
        #expect(db.notes.contains { $0.contains("not on a bind mount or named volume") })
    }

    @Test func unknownServiceName() throws {
        let error = #expect(throws: UpshiftError.self) {
            try DatabaseService.select(from: ComposeFixtures.config("two-postgres"), named: "nope")
        }
        #expect(error?.message.contains("\"nope\"") == true)
    }

    @Test func namedServiceIsNotPostgres() throws {
        let error = #expect(throws: UpshiftError.self) {
            try DatabaseService.select(from: ComposeFixtures.config("two-postgres"), named: "cache")
        }
        #expect(error?.message.contains("does not run a postgres image") == true)
    }

    // MARK: - PGDATA and mounts

    @Test(arguments: [(15, "/var/lib/postgresql/data"), (17, "/var/lib/postgresql/data"), (18, "/var/lib/postgresql/18/docker"),
                      (19, "/var/lib/postgresql/19/docker")])
    func defaultPGData(major: Int, expected: String) {
        #expect(DatabaseService.defaultPGData(major: major) == expected)
    }

    @Test func longestMountWins() {
        let volumes = [
            ComposeServiceVolume(type: .volume, source: "outer", target: "/var/lib/postgresql"),
            ComposeServiceVolume(type: .bind, source: "/srv/x/data", target: "/var/lib/postgresql/data/"),
            ComposeServiceVolume(type: .bind, source: "/srv/x/other", target: "/var/lib/postgresql/dat"),
        ]
        let location = DataLocation.resolve(
            pgdata: "/var/lib/postgresql/data/pgdb/", volumes: volumes, topLevelVolumes: [:], projectName: "p")
        #expect(location.kind == .bind)
        #expect(location.hostPath == "/srv/x/data")
        #expect(location.subpath == "pgdb")
        #expect(location.pgdata == "/var/lib/postgresql/data/pgdb")
    }

    @Test func volumeSubpathAndAnonymousAndTmpfs() {
        let sub = DataLocation.resolve(
            pgdata: "/var/lib/postgresql/data",
            volumes: [ComposeServiceVolume(type: .volume, source: "v", target: "/var/lib/postgresql/data", volumeSubpath: "pg15")],
            topLevelVolumes: ["v": ComposeTopLevelVolume(name: "real_v")], projectName: "p")
        #expect(sub.volumeName == "real_v" && sub.subpath == "pg15")
        let anonymous = DataLocation.resolve(
            pgdata: "/var/lib/postgresql/data", volumes: [ComposeServiceVolume(type: .volume, source: nil, target: "/var/lib/postgresql/data")],
            topLevelVolumes: [:], projectName: "p")
        #expect(anonymous.kind == .anonymous && !anonymous.isPersistent)
        let tmpfs = DataLocation.resolve(
            pgdata: "/var/lib/postgresql/data", volumes: [ComposeServiceVolume(type: .tmpfs, source: nil, target: "/var/lib/postgresql")],
            topLevelVolumes: [:], projectName: "p")
        #expect(tmpfs.kind == .tmpfs && tmpfs.subpath == "data")
    }
}

extension ComposeDatabaseServiceTests {
    @Test func postgres18ImageOnPre18Mount() throws {
        let config = ComposeConfig(name: "p", services: [
            "db": ComposeService(image: "postgres:18", volumes: [
                ComposeServiceVolume(type: .volume, source: "data", target: "/var/lib/postgresql/data"),
            ]),
        ], volumes: ["data": ComposeTopLevelVolume(name: "p_data")])
        let db = try DatabaseService.select(from: config)
        #expect(db.pgdata == "/var/lib/postgresql/18/docker")
        #expect(db.dataLocation.kind == .none)
        #expect(db.legacyLayoutLocation?.volumeName == "p_data")
        #expect(db.notes.count == 1 && db.notes[0].contains("pre-18 layout"))
    }
}
