import Foundation
import Testing
import UpshiftApps
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport
import UpshiftTestSupport

/// The doctor's judgements, one rule at a time, on literal facts (no docker).
struct DoctorRulesTests {
    func database(_ image: String, environment: [String: String?] = ["POSTGRES_PASSWORD": "pw"], volumes: [ComposeServiceVolume]? = nil) throws -> DatabaseService {
        let mounts = volumes ?? [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql/data")]
        let config = ComposeConfig(
            name: "proj", services: ["db": ComposeService(image: image, environment: environment, volumes: mounts)],
            volumes: ["pg": ComposeTopLevelVolume(name: "proj_pg")])
        return try DatabaseService.select(from: config)
    }

    @Test func tagBumpedWithoutMigrationFails() throws {
        let db = try database("postgres:18")
        let check = DoctorRules.major(database: db, probe: .cluster(major: 15, pgVersion: "15"), probeError: nil, targetMajor: 18)
        #expect(check.status == .fail)
        #expect(check.found.contains("tag was bumped without migrating"))
        #expect(check.fix?.contains("postgres:15") == true && check.fix?.contains("pg-upgrade --to 18") == true)
        let same = DoctorRules.major(database: try database("postgres:15"), probe: .cluster(major: 15, pgVersion: "15"), probeError: nil, targetMajor: 18)
        #expect(same.status == .pass)
        let older = DoctorRules.major(database: try database("postgres:15"), probe: .cluster(major: 16, pgVersion: "16"), probeError: nil, targetMajor: 18)
        #expect(older.status == .fail)
        #expect(DoctorRules.major(database: try database("postgres:latest"), probe: nil, probeError: nil, targetMajor: 18).status == .fail)
        #expect(DoctorRules.major(database: try database("postgres:15"), probe: .empty(path: "x"), probeError: nil, targetMajor: 18).status == .warn)
    }

    @Test func anonymousOrNoMountFails() throws {
        #expect(DoctorRules.dataMount(database: try database("postgres:15")).status == .pass)
        let anonymous = try database("postgres:15", volumes: [ComposeServiceVolume(type: .volume, source: nil, target: "/var/lib/postgresql/data")])
        #expect(DoctorRules.dataMount(database: anonymous).status == .fail)
        let none = try database("postgres:15", volumes: [])
        let check = DoctorRules.dataMount(database: none)
        #expect(check.status == .fail && check.found.contains("no mount covers"))
    }

    @Test func pg18OnOldMountFailsAndPinIsExplained() throws {
        let legacy = try database("postgres:18")
        #expect(legacy.legacyLayoutLocation != nil)
        #expect(DoctorRules.layout(database: legacy, targetMajor: 18, placement: nil, existingPaths: []).status == .fail)

        let db = try database("postgres:15")
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: RunID.make())
        let check = DoctorRules.layout(database: db, targetMajor: 18, placement: .success(placement), existingPaths: [])
        #expect(check.status == .pass)
        #expect(check.found.contains("pins PGDATA=/var/lib/postgresql/data/pg18"), "\(check.found)")
        let taken = DoctorRules.layout(database: db, targetMajor: 18, placement: .success(placement), existingPaths: ["pg18"])
        #expect(taken.status == .fail && taken.found.contains("pg18 already exists"))
    }

    @Test func ownerShutdownDiskSpace() {
        #expect(DoctorRules.owner(ownership: FileOwnership(uid: 999, gid: 999, mode: 0o700), expectedUID: 999, uidSource: "postgres:15", pgdata: "/d").status == .pass)
        #expect(DoctorRules.owner(ownership: FileOwnership(uid: 70, gid: 70, mode: 0o700), expectedUID: 999, uidSource: "postgres:15", pgdata: "/d").status == .warn)
        #expect(DoctorRules.owner(ownership: FileOwnership(uid: 999, gid: 999, mode: 0o777), expectedUID: 999, uidSource: "postgres:15", pgdata: "/d").status == .warn)
        #expect(DoctorRules.owner(ownership: FileOwnership(uid: 999, gid: 999, mode: 0o750), expectedUID: 999, uidSource: "postgres:15", pgdata: "/d").status == .pass)

        #expect(DoctorRules.shutdown(running: true, control: nil, controlError: nil).status == .pass)
        let clean = DoctorControlData.parse("pg_control version number:            1300\nDatabase cluster state:               shut down\nData page checksum version:           0\n")
        #expect(clean.isCleanlyShutDown && clean.checksumVersion == 0)
        #expect(DoctorRules.shutdown(running: false, control: clean, controlError: nil).status == .pass)
        let crashed = DoctorControlData.parse("Database cluster state:               in production\nData page checksum version:           1\n", stalePidFile: true)
        let check = DoctorRules.shutdown(running: false, control: crashed, controlError: nil)
        #expect(check.status == .warn && check.found.contains("in production") && check.found.contains("postmaster.pid"))
        #expect(DoctorRules.shutdown(running: false, control: nil, controlError: "x").status == .skip)

        let gib: Int64 = 1 << 30
        #expect(DoctorRules.diskSpace(databaseBytes: gib, sizeSource: "s", dataFree: 10 * gib, dataPlace: "v", backupFree: 10 * gib, backupDirectory: "/b").status == .pass)
        let tight = DoctorRules.diskSpace(databaseBytes: gib, sizeSource: "s", dataFree: gib, dataPlace: "volume v", backupFree: 10 * gib, backupDirectory: "/b")
        #expect(tight.status == .fail && tight.found.contains("volume v"))
        #expect(DoctorRules.diskSpace(databaseBytes: gib, sizeSource: "s", dataFree: 10 * gib, dataPlace: "v", backupFree: gib / 2, backupDirectory: "/b").status == .fail)
        #expect(DoctorRules.diskSpace(databaseBytes: nil, sizeSource: "s", dataFree: nil, dataPlace: "v", backupFree: nil, backupDirectory: "/b").status == .skip)
    }

    func cluster(md5: [String] = [], collation: [String] = [], checksums: Bool = false, databases: [DoctorClusterFacts.Database]? = nil, extensions: [String] = [], bootstrap: String = "postgres") -> DoctorClusterFacts {
        DoctorClusterFacts(
            serverMajor: 15, dataChecksums: checksums, bootstrapRole: bootstrap, md5Roles: md5, sharedPreloadLibraries: [], totalBytes: 1,
            databases: databases ?? [DoctorClusterFacts.Database(name: "postgres", encoding: "UTF8", collate: "en_US.utf8", ctype: "en_US.utf8", provider: "c", isTemplate: false)],
            extensions: extensions, collationMismatches: collation)
    }

    @Test func clusterRules() throws {
        #expect(DoctorRules.checksums(enabled: false, source: "s", targetMajor: 18, imageMajor: 15, initdbArgs: nil).status == .warn)
        #expect(DoctorRules.checksums(enabled: false, source: "s", targetMajor: 18, imageMajor: 15, initdbArgs: "--no-data-checksums").status == .pass)
        #expect(DoctorRules.checksums(enabled: false, source: "s", targetMajor: 17, imageMajor: 15, initdbArgs: nil).status == .pass)
        #expect(DoctorRules.checksums(enabled: true, source: "s", targetMajor: 18, imageMajor: 15, initdbArgs: nil).status == .pass)

        #expect(DoctorRules.encodingLocale(cluster: cluster(), targetLocale: "en_US.UTF-8", targetSource: "LANG", initdbArgs: nil, upgrading: true).status == .pass)
        let latin = DoctorClusterFacts.Database(name: "legacy", encoding: "LATIN1", collate: "C", ctype: "C", provider: "c", isTemplate: false)
        let mixed = cluster(databases: cluster().databases + [latin])
        let check = DoctorRules.encodingLocale(cluster: mixed, targetLocale: "en_US.UTF-8", targetSource: "LANG", initdbArgs: nil, upgrading: true)
        #expect(check.status == .warn && check.found.contains("legacy is LATIN1"))
        #expect(DoctorRules.encodingLocale(cluster: cluster(), targetLocale: "C.UTF-8", targetSource: "LANG", initdbArgs: nil, upgrading: true).status == .warn)
        #expect(DoctorRules.encodingLocale(cluster: nil, targetLocale: nil, targetSource: "", initdbArgs: nil, upgrading: true).status == .skip)

        let db = try database("postgres:15", environment: ["POSTGRES_USER": "pguser"])
        #expect(DoctorRules.superuser(database: db, cluster: cluster(bootstrap: "pguser")).status == .pass)
        #expect(DoctorRules.superuser(database: db, cluster: cluster(bootstrap: "postgres")).status == .warn)

        #expect(DoctorRules.md5(cluster: cluster(md5: ["legacy"]), targetMajor: 18).status == .warn)
        #expect(DoctorRules.md5(cluster: cluster(), targetMajor: 18).status == .pass)
        #expect(DoctorRules.collation(cluster: cluster(collation: ["app: default collation recorded 1, now 2"])).status == .warn)
        #expect(DoctorRules.collation(cluster: cluster()).status == .pass)

        let withExt = cluster(extensions: ["hstore", "postgis"])
        let missing = DoctorRules.extensions(cluster: withExt, available: .success(["hstore"]), targetImage: "postgres:18", upgrading: true)
        #expect(missing.status == .fail && missing.found.contains("missing in postgres:18: postgis"))
        #expect(DoctorRules.extensions(cluster: withExt, available: .success(["hstore", "postgis"]), targetImage: "postgres:18", upgrading: true).status == .pass)
        #expect(DoctorRules.extensions(cluster: withExt, available: nil, targetImage: "postgres:18", upgrading: true).status == .skip)
    }

    @Test func servicesImagesAndClients() {
        let pending = DoctorRules.pendingRollback(runID: "20260101-000000-abcd", command: "pg-upgrade", stoppedIn: "restore", projectDirectory: "/srv/my app")
        #expect(pending.status == .fail && pending.fix == "upshift -C '/srv/my app' rollback --run 20260101-000000-abcd")

        let runtime = ["db": DoctorServiceRuntime(restart: "unless-stopped", healthcheck: "pg_isready"), "app": DoctorServiceRuntime(restart: "always")]
        #expect(DoctorRules.interference(database: "db", runtime: runtime, watchers: []).status == .warn)
        #expect(DoctorRules.interference(database: "db", runtime: ["db": DoctorServiceRuntime(restart: "always")], watchers: []).status == .info)
        #expect(DoctorRules.interference(database: "db", runtime: [:], watchers: ["wt (containrrr/watchtower)"]).status == .warn)

        #expect(DoctorRules.targetImage("postgres:18", availability: .local, upgrading: true).status == .pass)
        #expect(DoctorRules.targetImage("postgres:19", availability: .missing(registry: "r", message: "no such manifest"), upgrading: true).status == .fail)
        #expect(DoctorRules.targetImage("postgres:19", availability: .unknown(message: "offline"), upgrading: true).status == .warn)

        let app = AppProfile(kind: .inventree, version: "0.17.0", serverService: "server", image: "inventree/inventree:0.17.0")
        #expect(DoctorRules.appClient(app: app, clientMajor: .success(15), serverMajor: 15, targetMajor: 18, image: nil).status == .warn)
        #expect(DoctorRules.appClient(app: app, clientMajor: .success(13), serverMajor: 15, targetMajor: 18, image: nil).status == .fail)
        #expect(DoctorRules.appClient(app: app, clientMajor: .success(18), serverMajor: 15, targetMajor: 18, image: nil).status == .pass)
        #expect(DoctorRules.appClient(app: AppProfile(kind: .generic), clientMajor: nil, serverMajor: 15, targetMajor: 18, image: nil).status == .skip)
    }

    @Test func composeRuntimeDecoding() throws {
        let json = #"""
        {"name":"p","services":{
          "db":{"image":"postgres:15","restart":"unless-stopped","healthcheck":{"test":["CMD-SHELL","pg_isready -U $${POSTGRES_USER}"],"interval":"2s"}},
          "app":{"image":"x","deploy":{"restart_policy":{"condition":"on-failure"}},"depends_on":{"db":{"condition":"service_started","required":true}}},
          "off":{"image":"y","healthcheck":{"disable":true}}}}
        """#
        let runtime = try DoctorServiceRuntime.decode(Data(json.utf8))
        #expect(runtime["db"]?.healthcheck == "pg_isready -U ${POSTGRES_USER}")
        #expect(runtime["db"]?.effectiveRestart == "unless-stopped")
        #expect(runtime["app"]?.effectiveRestart == "on-failure" && runtime["app"]?.dependsOn == ["db"])
        #expect(runtime["off"]?.healthcheck == nil && runtime["off"]?.effectiveRestart == "no")
    }

    /// A healthcheck is printed by doctor: a password in it is masked word by word, before the words are joined
    /// or the text shortened (the hostile-password suite found it printed in clear).
    @Test func healthcheckPasswordsAreMaskedBeforeTheyArePrinted() throws {
        let json = #"""
        {"services":{
          "app":{"healthcheck":{"test":["CMD","env","PGPASSWORD=Sh0p S3cret \"q\" ;x","pg_isready","-h","db"]}},
          "short":{"healthcheck":{"test":["CMD","env","PGPASSWORD=x","pg_isready"]}},
          "shell":{"healthcheck":{"test":["CMD-SHELL","PGPASSWORD='a b' psql postgres://app:pw@db/app -c 'SELECT 1'"]}},
          "known":{"healthcheck":{"test":["CMD","check","--with","Pr1ce$$5 $$HOME"]}}}}
        """#
        var redactor = Redactor()
        redactor.add(Secret("Pr1ce$5 $HOME"))
        let runtime = try DoctorServiceRuntime.decode(Data(json.utf8), redactor: redactor)
        #expect(runtime["app"]?.healthcheck == "env PGPASSWORD=****** pg_isready -h db")
        #expect(runtime["short"]?.healthcheck == "env PGPASSWORD=****** pg_isready")
        #expect(runtime["shell"]?.healthcheck == "PGPASSWORD='******' psql postgres://app:******@db/app -c 'SELECT 1'")
        #expect(runtime["known"]?.healthcheck == "check --with ******")
    }

    @Test func reportExitCodesAndJSON() throws {
        var report = DoctorReport(project: "p", directory: "/d", targetMajor: 18, checks: [DoctorCheck("a", "A", .pass, "ok"), DoctorCheck("b", "B", .warn, "hmm", fix: "x")])
        #expect(report.exitCode == .ok)
        report.checks.append(DoctorCheck("c", "C", .fail, "bad"))
        #expect(report.exitCode == .failedRolledBack)
        report.unavailable = true
        #expect(report.exitCode == .unavailable)
        let data = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["ok"] as? Bool == false)
        #expect((object["summary"] as? [String: Int])?["fail"] == 1)
        let back = try JSONDecoder().decode(DoctorReport.self, from: data)
        #expect(back.checks == report.checks && back.unavailable)
    }
}

extension DoctorRulesTests {
    /// wal_level is advice, never a warning: without `logical` the window dumps and restores, as always.
    @Test func walLevelTellsHowAWritingApplicationIsFollowed() {
        var facts = cluster()
        #expect(DoctorRules.walLevel(cluster: facts, upgrading: true, service: "db").status == .skip)
        facts.walLevel = "replica"
        let replica = DoctorRules.walLevel(cluster: facts, upgrading: true, service: "db")
        #expect(replica.status == .info && replica.fix?.contains("wal_level=logical") == true && replica.fix?.contains("never changes it") == true)
        facts.walLevel = "logical"
        #expect(DoctorRules.walLevel(cluster: facts, upgrading: true, service: "db").status == .pass)
        #expect(DoctorRules.walLevel(cluster: nil, upgrading: true, service: "db").status == .skip)
    }
}
