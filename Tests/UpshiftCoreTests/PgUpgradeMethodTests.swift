import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftSupport
import UpshiftTestSupport

/// The pure parts of `--method pg_upgrade` and the parallel dump: what is carried from the old
/// configuration, which initdb arguments reproduce the old cluster, how the upgrade image is read, and how a
/// `-Fd` dump directory is digested. The whole method runs in `PgUpgradeMethodEndToEndTests`.
struct PgUpgradeMethodTests {
    // MARK: - ConfigurationCarry

    static let newConf = """
        # initdb's file
        max_connections = 100\t\t\t# (change requires restart)
        shared_buffers = 128MB
        listen_addresses = '*'
        #work_mem = 4MB
        """

    @Test func carriesChangedKnownSettingsOnly() {
        let old = """
            max_connections = 100
            shared_buffers = 512MB   # tuned
            work_mem = '16MB'
            #maintenance_work_mem = 1GB
            stats_temp_directory = 'pg_stat_tmp'
            data_directory = '/var/lib/postgresql/data/pgdb'
            include_dir = 'conf.d'
            pg_stat_statements.track = all
            """
        let known: Set<String> = ["max_connections", "shared_buffers", "work_mem", "maintenance_work_mem", "data_directory", "listen_addresses"]
        let result = ConfigurationCarry.carry(old: old, new: Self.newConf, known: known, label: "PG15")
        #expect(result.carried == ["shared_buffers", "work_mem", "pg_stat_statements.track"])
        #expect(result.dropped == ["stats_temp_directory", "data_directory", "include_dir"])
        #expect(result.appendix.hasPrefix("\n# carried from PG15 by upshift\n"))
        #expect(result.appendix.contains("shared_buffers = 512MB\n"))
        #expect(!result.appendix.contains("# tuned"))
        #expect(!result.appendix.contains("maintenance_work_mem"))
    }

    @Test func nothingToCarryLeavesTheFileAlone() {
        let result = ConfigurationCarry.carry(old: "max_connections = 100\nshared_buffers = '128MB'\n", new: Self.newConf, known: ["max_connections", "shared_buffers"], label: "x")
        #expect(result.appendix.isEmpty && result.carried.isEmpty && result.dropped.isEmpty)
    }

    @Test func parsesQuotesCommentsAndLastValueWins() {
        let settings = ConfigurationCarry.activeSettings("""
            log_line_prefix = '%m # [%p] '   # a comment after a quoted hash
            Work_Mem 8MB
            work_mem = 9MB
            search_path = 'a''b'
            """)
        #expect(settings.map(\.name) == ["log_line_prefix", "work_mem", "search_path"])
        #expect(settings[0].value == "%m # [%p] ")
        #expect(settings[1].value == "9MB")
        #expect(settings[2].value == "a'b")
    }

    @Test func knownNamesFromDescribeConfig() {
        let names = ConfigurationCarry.knownNames(describeConfig: "work_mem\tuser\tResource Usage\tINTEGER\t4096\n" + "Shared_Buffers\tpostmaster\tx\n")
        #expect(names == ["work_mem", "shared_buffers"])
    }

    // MARK: - ClusterSettings

    static func settings(checksums: Bool = false, provider: String = "c", locale: String? = nil, collate: String = "en_US.utf8") -> ClusterSettings {
        ClusterSettings(dataChecksums: checksums, encoding: "UTF8", collate: collate, ctype: "en_US.utf8", localeProvider: provider, providerLocale: locale, bootstrapSuperuser: "pguser")
    }

    @Test func initdbTurnsChecksumsOffOnlyWhereTheNewMajorDefaultsOn() throws {
        #expect(try Self.settings().initdbArguments(newMajor: 18) == ["--username=pguser", "--encoding=UTF8", "--lc-collate=en_US.utf8", "--lc-ctype=en_US.utf8", "--no-data-checksums"])
        #expect(try !Self.settings().initdbArguments(newMajor: 16).contains { $0.contains("checksums") })
        #expect(try Self.settings(checksums: true).initdbArguments(newMajor: 18).last == "--data-checksums")
        #expect(try Self.settings(checksums: true).initdbArguments(newMajor: 16).last == "--data-checksums")
    }

    @Test func initdbKeepsTheLocaleProvider() throws {
        let icu = try Self.settings(provider: "i", locale: "und-x-icu").initdbArguments(newMajor: 18)
        #expect(icu.contains("--locale-provider=icu") && icu.contains("--icu-locale=und-x-icu"))
        let builtin = try Self.settings(provider: "b", locale: "C.UTF-8").initdbArguments(newMajor: 18)
        #expect(builtin.contains("--locale-provider=builtin") && builtin.contains("--builtin-locale=C.UTF-8"))
    }

    @Test func initdbRefusesValuesItWouldHaveToQuote() {
        #expect(throws: UpshiftError.self) { try Self.settings(collate: "en_US.utf8; rm -rf /").initdbArguments(newMajor: 18) }
        #expect(throws: UpshiftError.self) { try Self.settings(collate: "a b").initdbArguments(newMajor: 18) }
    }

    @Test func settingsRoundTripThroughTheRunFolderFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = Self.settings(checksums: true)
        try settings.save(to: path)
        #expect(try ClusterSettings.load(path) == settings)
        #expect(settings.summary == "checksums on, encoding UTF8, collate en_US.utf8, ctype en_US.utf8, install user pguser")
    }

    // MARK: - Upgrade image and modes

    @Test func readsTheUpgradeImage() {
        let env = UpgradeToolPreflight.environment(#"["PATH=/usr/bin","PGBINOLD=/usr/lib/postgresql/15/bin","PGBINNEW=/usr/lib/postgresql/18/bin","X=a=b"]"#)
        #expect(env["PGBINOLD"] == "/usr/lib/postgresql/15/bin" && env["PGBINNEW"] == "/usr/lib/postgresql/18/bin" && env["X"] == "a=b")
        #expect(UpgradeToolPreflight.environment("null").isEmpty)
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "pg_upgrade (PostgreSQL) 18.6\n") == 18)
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "postgres (PostgreSQL) 17.2 (Debian 17.2-1.pgdg120+1)") == 17)
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "postgres (PostgreSQL) 15.18") == 15)
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "bash: postgres: not found") == nil)
        #expect(UpgradeTool.defaultImage(oldMajor: 15, newMajor: 18) == "tianon/postgres-upgrade:15-to-18")
    }

    @Test func onlyLinkAndSwapNeedADumpFirst() {
        #expect(TransferMode.allCases.filter(\.destroysOldCluster) == [.link, .swap])
        #expect(UpgradeMethod(rawValue: "pg_upgrade") == .pgUpgrade)
    }

    @Test func upgradeContainerRunsAsTheDataOwnerWithSecretsByName() {
        let tool = UpgradeTool(image: "tianon/postgres-upgrade:15-to-18", binOld: "/o", binNew: "/n", uid: 999, gid: 998, runID: "r1")
        let mount = DataLocation(kind: .bind, pgdata: "/var/lib/postgresql/data/pgdb", mountTarget: "/var/lib/postgresql/data", hostPath: "/srv/data", subpath: "pgdb")
        let worker = UpgradeWorker(tool: tool, mount: mount, runner: RecordingRunner(strict: true))
        let start = worker.startCommand.arguments
        #expect(start.starts(with: ["run", "-d", "--name", "upshift-upgrade-r1", "--network", "none", "--log-driver", "none", "--user", "999:998"]))
        #expect(start.contains("type=bind,source=/srv/data,target=/upshift-data") && start.contains("com.upshift.run=r1"))
        #expect(Array(start.suffix(4)) == ["--entrypoint", "sleep", "tianon/postgres-upgrade:15-to-18", "infinity"])
        let command = worker.command("/n/pg_upgrade", ["--check"], workdir: "/upshift-data/pgdb", environment: ["PGPASSWORD": "s3cret"])
        #expect(command.arguments == ["exec", "--user", "999:998", "--workdir", "/upshift-data/pgdb", "-e", "PGPASSWORD", "upshift-upgrade-r1", "/n/pg_upgrade", "--check"])
        #expect(command.environment["PGPASSWORD"] == "s3cret" && !command.arguments.contains { $0.contains("s3cret") })
        #expect(worker.command("mkdir", [], asRoot: true, stdin: true).arguments.starts(with: ["exec", "-i", "--user", "0:0"]))
    }

    @Test func upgradeContainerStartsOnceAndReplacesALeftover() async throws {
        let tool = UpgradeTool(image: "u", binOld: "/o", binNew: "/n", uid: 999, gid: 999, runID: "r2")
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "rm", "-f", "upshift-upgrade-r2"])
        runner.stub(["docker", "run", "-d", "--name", "upshift-upgrade-r2"], stdout: "abc\n")
        let worker = UpgradeWorker(tool: tool, mount: DataLocation(kind: .volume, pgdata: "/d", mountTarget: "/d", volumeName: "v"), runner: runner)
        try await worker.start()
        try await worker.start()
        #expect(runner.argvs.map { Array($0.prefix(3)) } == [["docker", "rm", "-f"], ["docker", "run", "-d"]])
        #expect(await worker.remove() == nil)
        #expect(runner.argvs.count == 3)
    }

    // MARK: - Directory-format dumps

    @Test func directoryDigestNoticesAnyChange() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("toc".utf8).write(to: URL(fileURLWithPath: dir + "/toc.dat"))
        try Data("rows".utf8).write(to: URL(fileURLWithPath: dir + "/3001.dat"))
        let first = try DumpManifest.digestDirectory(dir)
        #expect(first.bytes == 7)
        #expect(try DumpManifest.digestDirectory(dir) == first)
        try Data("rowz".utf8).write(to: URL(fileURLWithPath: dir + "/3001.dat"))
        #expect(try DumpManifest.digestDirectory(dir).sha256 != first.sha256)
        try Data().write(to: URL(fileURLWithPath: dir + "/3002.dat"))
        #expect(try DumpManifest.digestDirectory(dir).sha256 != first.sha256)
    }

    @Test func manifestsWithoutAFormatArePlain() throws {
        let json = #"{"oldMajor":15,"superuser":"u","files":[{"name":"globals.sql","bytes":1,"sha256":"x"},{"database":"d","name":"db-1.dir","bytes":2,"sha256":"y","format":"directory"}]}"#
        let manifest = try JSONDecoder().decode(DumpManifest.self, from: Data(json.utf8))
        #expect(manifest.files.map(\.isDirectory) == [false, true])
    }
}

/// The tar reader and writer that move configuration files in and out of containers: checked against the
/// system's GNU tar in both directions.
struct TarArchiveTests {
    @Test func roundTripsAndMatchesGNUTar() throws {
        let entries = [
            TarArchive.Entry(name: "pg_hba.conf", contents: Data("local all all trust\nhost all all all scram-sha-256\n".utf8)),
            TarArchive.Entry(name: "postgresql.auto.conf", contents: Data(String(repeating: "x", count: 1300).utf8)),
            TarArchive.Entry(name: "empty.conf", contents: Data()),
        ]
        let archive = TarArchive.write(entries)
        #expect(archive.count % 512 == 0)
        let back = TarArchive.read(archive)
        #expect(back.count == 3 && back["pg_hba.conf"] == entries[0].contents && back["postgresql.auto.conf"] == entries[1].contents && back["empty.conf"] == Data())

        // GNU tar extracts what we write, and we read what it writes.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try archive.write(to: URL(fileURLWithPath: dir + "/a.tar"))
        let extract = Process()
        extract.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        extract.arguments = ["-x", "-f", dir + "/a.tar", "-C", dir + "/in"]
        try extract.run()
        extract.waitUntilExit()
        #expect(extract.terminationStatus == 0)
        #expect(FileManager.default.contents(atPath: dir + "/in/pg_hba.conf") == entries[0].contents)
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        create.arguments = ["-c", "-f", dir + "/b.tar", "-C", dir + "/in", "pg_hba.conf", "postgresql.auto.conf"]
        try create.run()
        create.waitUntilExit()
        let gnu = TarArchive.read(try Data(contentsOf: URL(fileURLWithPath: dir + "/b.tar")))
        #expect(gnu["pg_hba.conf"] == entries[0].contents && gnu["postgresql.auto.conf"] == entries[1].contents)
    }
}
