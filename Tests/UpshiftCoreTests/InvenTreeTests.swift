import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftSupport

/// Version parsing, per-version task flags, backup-file classification and output parsing of the InvenTree
/// app profile: no docker needed.
struct InvenTreeTests {
    @Test func parsesReleaseNumbersAndRejectsMovingTags() {
        #expect(InvenTreeVersion(parsing: "1.0.0") == InvenTreeVersion(1, 0, 0))
        #expect(InvenTreeVersion(parsing: "0.17") == InvenTreeVersion(0, 17, 0))
        #expect(InvenTreeVersion(parsing: "v1.2.3") == InvenTreeVersion(1, 2, 3))
        #expect(InvenTreeVersion(parsing: "1.5.0 dev")?.suffix == "dev")
        #expect(InvenTreeVersion(parsing: "stable") == nil)
        #expect(InvenTreeVersion(parsing: "latest") == nil)
        #expect(InvenTreeVersion(parsing: "1.x") == nil)
        #expect(InvenTreeVersion(0, 17, 0) < InvenTreeVersion(1, 0, 0))
        #expect(InvenTreeVersion(1, 10, 0) > InvenTreeVersion(1, 9, 9))
    }

    @Test func readsTheVersionLineOfInvokeVersion() {
        let output = "\u{1B}[94mLoading\u{1B}[0m\n\nInvenTree - inventree.org\nThe Open-Source Inventory Management System\n\nVersions:\nInvenTree   0.17.0\nAPI         294\n"
        #expect(InvenTreeVersion.fromVersionOutput(output) == InvenTreeVersion(0, 17, 0))
        #expect(InvenTreeVersion.fromVersionOutput("InvenTree - inventree.org\n") == nil)
    }

    @Test func namesTheRequiredStopOver() {
        let old = InvenTreeVersion(0, 17, 0)
        #expect(old.stopOver(to: InvenTreeVersion(1, 3, 0)) == InvenTreeVersion(1, 0, 0))
        #expect(old.stopOver(to: InvenTreeVersion(1, 0, 2)) == nil)
        #expect(InvenTreeVersion(1, 0, 0).stopOver(to: InvenTreeVersion(1, 3, 0)) == nil)
    }

    @Test func restoreFlagsFollowTheVersion() throws {
        let old = InvokeFlags(version: InvenTreeVersion(1, 0, 0))
        #expect(try old.restoreArguments(dbFile: "d.psql.bin.gz", mediaFile: nil) == ["restore", "--db-file", "d.psql.bin.gz", "--ignore-media"])
        #expect(!old.restoreUsesIfExists)
        let new = InvokeFlags(version: InvenTreeVersion(1, 3, 0))
        #expect(try new.restoreArguments(dbFile: "d", mediaFile: nil) == ["restore", "--db-file", "d", "--skip-media"])
        #expect(try new.restoreArguments(dbFile: nil, mediaFile: "m.tar.gz") == ["restore", "--skip-db", "--media-file", "m.tar.gz"])
        #expect(try new.restoreArguments(dbFile: "d", mediaFile: "m") == ["restore", "--db-file", "d", "--media-file", "m"])
        #expect(try InvokeFlags(version: InvenTreeVersion(0, 15, 0)).restoreArguments(dbFile: "d", mediaFile: nil) == ["restore", "--db-file", "d", "--ignore-media"])
        // Up to 0.14 restore takes no options: it cannot be told which file, so it is refused by name.
        do {
            _ = try InvokeFlags(version: InvenTreeVersion(0, 14, 2)).restoreArguments(dbFile: "d", mediaFile: nil)
            Issue.record("0.14 accepted restore --db-file")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage && error.message.contains("takes no options (--db-file arrived in 0.15)"))
        }
        #expect(new.updateArguments == ["update", "--skip-backup"])
        // Only long flags, ever.
        for args in [old.updateArguments, try new.restoreArguments(dbFile: "d", mediaFile: nil)] {
            #expect(args.dropFirst().allSatisfy { !$0.hasPrefix("-") || $0.hasPrefix("--") })
        }
    }

    @Test func classifiesTheFilesOfOneBackup() throws {
        let old = try InvenTreeBackupRecord.classify(
            ["default-24bd37a68652-2024-12-01-091516.psql.bin.gz", "24bd37a68652-2024-12-01-091517.tar.gz"],
            directory: "/home/inventree/data/backup", version: InvenTreeVersion(0, 17, 0))
        #expect(old.databaseFile == "default-24bd37a68652-2024-12-01-091516.psql.bin.gz")
        #expect(old.mediaFile == "24bd37a68652-2024-12-01-091517.tar.gz")
        let new = try InvenTreeBackupRecord.classify(
            ["InvenTree-db-2026-01-31-120000.psql.bin.gz", "InvenTree-db-2026-01-31-120000.psql.bin.gz.metadata", "InvenTree-media-2026-01-31-120001.tar.gz"],
            directory: "/b", version: InvenTreeVersion(1, 3, 0))
        #expect(new.databaseFile == "InvenTree-db-2026-01-31-120000.psql.bin.gz")
        #expect(new.mediaFile == "InvenTree-media-2026-01-31-120001.tar.gz")
        #expect(throws: UpshiftError.self) { try InvenTreeBackupRecord.classify([], directory: "/b", version: InvenTreeVersion(1, 0, 0)) }
        #expect(throws: UpshiftError.self) { try InvenTreeBackupRecord.classify(["a.psql.bin.gz", "b.psql.bin.gz"], directory: "/b", version: InvenTreeVersion(1, 0, 0)) }
    }

    @Test func readsClientMajorsAndHostPaths() {
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n") == 15)
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "pg_dump (PostgreSQL) 18.1\n") == 18)
        #expect(InvenTreeTasks.clientMajor(fromVersionLine: "command not found") == nil)
        let service = ComposeService(image: "inventree/inventree:1.0.0", volumes: [ComposeServiceVolume(type: .bind, source: "/srv/inv/data", target: "/home/inventree/data")])
        #expect(InvenTreeTasks.hostPath(of: "/home/inventree/data/backup", service: service) == "/srv/inv/data/backup")
        #expect(InvenTreeTasks.hostPath(of: "/elsewhere", service: service) == nil)
    }

    @Test func tailDropsAnsiAndComposeProgress() {
        let text = " Container x-run-1 Creating \n\u{1B}[91mERROR: InvenTree command failed\u{1B}[0m\n\n- Refer to the log\n"
        #expect(InvokeOutput.tail(text) == "ERROR: InvenTree command failed\n- Refer to the log")
    }
}

/// `update` without its pip install when the package index is out of reach, and the refusal when plugins need pip.
struct PackageIndexTests {
    @Test func offlineUpdateRunsTheStepsAfterInstall() {
        #expect(InvokeFlags(version: InvenTreeVersion(1, 0, 0)).updateTasks(packageIndexReachable: true) == [["update", "--skip-backup"]])
        #expect(InvokeFlags(version: InvenTreeVersion(0, 17, 0)).updateTasks(packageIndexReachable: false) == [["migrate"], ["static"]])
        #expect(InvokeFlags(version: InvenTreeVersion(1, 3, 0)).updateTasks(packageIndexReachable: false) == [["migrate"], ["static"], ["int.clean-settings"]])
    }

    @Test func offlinePluginsAreWarnedAbout() throws {
        #expect(PackageIndexProbe(host: "pypi.org", reachable: false, problem: "no answer").pluginWarning == nil)
        #expect(PackageIndexProbe(host: "pypi.org", reachable: true, plugins: ["inventree-barcodeplus"]).pluginWarning == nil)
        let warning = PackageIndexProbe(host: "pypi.org", reachable: false, problem: "Temporary failure in name resolution", plugins: ["inventree-barcodeplus"]).pluginWarning
        #expect(warning?.contains("plugins.txt lists inventree-barcodeplus") == true && warning?.contains("pypi.org: Temporary failure in name resolution") == true)
    }
}
