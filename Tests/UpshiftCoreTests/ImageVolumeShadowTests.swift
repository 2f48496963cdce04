import Foundation
import Testing
import UpshiftCompose
import UpshiftTestSupport

/// The image's own VOLUME between the compose mount and PGDATA (paperless-ngx's postgres-18 compose file run with
/// a 15 tag): found, named, and refused with the way out — and not found for the layouts where the mount covers it.
struct ImageVolumeShadowTests {
    @Test(arguments: [
        // paperless-ngx with postgres:15: the 15 image's VOLUME sits inside the mount, at PGDATA.
        ("/var/lib/postgresql/data", "/var/lib/postgresql", ["/var/lib/postgresql/data"], "/var/lib/postgresql/data" as String?),
        // The same mount with 18 (PGDATA 18/docker, VOLUME at the mount itself): nothing hidden.
        ("/var/lib/postgresql/18/docker", "/var/lib/postgresql", ["/var/lib/postgresql"], nil),
        // The 18+ layout on a 15 image (PGDATA 15/docker): the VOLUME is beside PGDATA, not over it.
        ("/var/lib/postgresql/15/docker", "/var/lib/postgresql", ["/var/lib/postgresql/data"], nil),
        // n8n, mastodon, authentik: the mount is the VOLUME path.
        ("/var/lib/postgresql/data", "/var/lib/postgresql/data", ["/var/lib/postgresql/data"], nil),
        // InvenTree: PGDATA a sub-directory of a mount at the VOLUME path.
        ("/var/lib/postgresql/data/pgdb", "/var/lib/postgresql/data", ["/var/lib/postgresql/data"], nil),
        // odoo: the mount is deeper than the VOLUME.
        ("/var/lib/postgresql/data/pgdata", "/var/lib/postgresql/data/pgdata", ["/var/lib/postgresql/data"], nil),
        // A mount at / (unusual) with the VOLUME below it, spelled with a trailing slash.
        ("/var/lib/postgresql/data", "/", ["/var/lib/postgresql/data/"], "/var/lib/postgresql/data"),
    ])
    func shadowingVolume(pgdata: String, mount: String, volumes: [String], expected: String?) {
        #expect(ImageVolumeShadow.shadowingVolume(pgdata: pgdata, mountTarget: mount, imageVolumes: volumes) == expected)
    }

    @Test func parsesInspectOutput() {
        #expect(ImageVolumeShadow.imageVolumes(inspectJSON: "{\"/var/lib/postgresql/data\":{}}\n") == ["/var/lib/postgresql/data"])
        #expect(ImageVolumeShadow.imageVolumes(inspectJSON: "null\n") == [])
        #expect(ImageVolumeShadow.imageVolumes(inspectJSON: "garbage") == nil)
        let mounts = """
            [{"Type":"volume","Name":"p_pgdata","Source":"/x","Destination":"/var/lib/postgresql","RW":true},\
            {"Type":"volume","Name":"fb3d49a7","Source":"/y","Destination":"/var/lib/postgresql/data","RW":true}]
            """
        #expect(ImageVolumeShadow.volumeName(mountsJSON: mounts, destination: "/var/lib/postgresql/data") == "fb3d49a7")
        #expect(ImageVolumeShadow.volumeName(mountsJSON: mounts, destination: "/srv") == nil)
    }

    /// The paperless-ngx file with a 15 tag: the engine says where the cluster really is, and the refusal names
    /// the anonymous volume, the user's volume and the exact copy that moves the cluster onto it.
    @Test func detectsPaperlessWithFifteen() async throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("paperless-pg15"))
        #expect(db.dataLocation.kind == .volume && db.dataLocation.subpath == "data")
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "image", "inspect"], stdout: "{\"/var/lib/postgresql/data\":{}}\n")
        runner.stub(["docker", "inspect"], stdout: "[{\"Type\":\"volume\",\"Name\":\"anon123\",\"Destination\":\"/var/lib/postgresql/data\"}]\n")
        let shadow = try #require(await ImageVolumeShadow.detect(database: db, containerName: "paperless-pg15-db-1", containerImage: nil, runner: runner))
        #expect(runner.argvs == [
            ["docker", "image", "inspect", "--format", "{{json .Config.Volumes}}", "docker.io/library/postgres:15"],
            ["docker", "inspect", "--format", "{{json .Mounts}}", "paperless-pg15-db-1"],
        ])
        #expect(shadow == ImageVolumeShadow(imageVolume: "/var/lib/postgresql/data", volumeName: "anon123", mountSummary: "volume paperless-pg15_pgdata (sub-path data)",
                                            mountTarget: "/var/lib/postgresql", mountSource: "paperless-pg15_pgdata"))
        #expect(shadow.message(service: "db", image: db.imageText) == "the data of service db is not on volume paperless-pg15_pgdata (sub-path data): "
            + "docker.io/library/postgres:15 declares VOLUME /var/lib/postgresql/data, so docker mounts anonymous volume anon123 there, over the directory data "
            + "of your mount at /var/lib/postgresql; the cluster lives in that anonymous volume, which `docker compose down` then `up` leaves behind and `down -v` deletes")
        let hint = shadow.hint(service: "db", image: db.imageText, major: 15)
        #expect(hint.contains("`docker run --rm -v anon123:/from -v paperless-pg15_pgdata:/to --entrypoint sh docker.io/library/postgres:15 -c 'mkdir -p /to/15 && cp -a /from /to/15/docker'`"))
        #expect(hint.contains("set `PGDATA: /var/lib/postgresql/15/docker` in the environment of db"))
    }

    @Test func noShadowWhenTheImageCannotBeInspected() async throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("paperless-pg15"))
        let runner = RecordingRunner(strict: false)
        runner.stub(["docker", "image", "inspect"], exit: 1, stderr: "No such image")
        #expect(await ImageVolumeShadow.detect(database: db, containerName: nil, containerImage: nil, runner: runner) == nil)
    }

    @Test func noShadowForTheNamedVolumeLayout() async throws {
        let db = try DatabaseService.select(from: ComposeFixtures.config("named-volume"))
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "image", "inspect"], stdout: "{\"/var/lib/postgresql/data\":{}}\n")
        #expect(await ImageVolumeShadow.detect(database: db, containerName: "x", containerImage: nil, runner: runner) == nil)
        #expect(runner.argvs.count == 1)
    }
}
