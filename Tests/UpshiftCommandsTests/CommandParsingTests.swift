import ArgumentParser
import Foundation
import Testing
import UpshiftApps
import UpshiftCore
import UpshiftPlans
@testable import UpshiftCommands

/// The command line as ArgumentParser reads it: every subcommand with its options, the checks `validate()`
/// makes before anything runs, and leading compose options. Parsing only: nothing here runs a command.
struct CommandParsingTests {
    /// Parses like `upshift ARGS` does (leading global options moved behind the subcommand first).
    func parse<C: ParsableCommand>(_ arguments: [String], as type: C.Type = C.self) throws -> C {
        let command = try Upshift.parseAsRoot(Upshift.globalOptionsAfterSubcommand(arguments))
        guard let typed = command as? C else { throw CommandTestFailure("\(arguments) parsed as \(Swift.type(of: command)), not \(C.self)") }
        return typed
    }

    /// Whether parsing `arguments` is refused (unknown option, failed validation).
    func refused(_ arguments: [String]) -> Bool {
        (try? Upshift.parseAsRoot(arguments)) == nil
    }

    @Test func pgUpgradeReadsEveryOption() throws {
        let command = try parse([
            "pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "link", "--upgrade-image", "me/up:15-to-18",
            "--image", "postgres:18-bookworm", "--backup-dir", "/srv/dumps", "--jobs", "4", "--stop-timeout", "30",
            "--ready-timeout", "20", "--yes", "--no-rollback", "--no-online-prepare",
        ], as: Upshift.PgUpgrade.self)
        #expect(command.targetMajor == 18 && command.method == "pg_upgrade" && command.mode == "link")
        #expect(command.upgradeImage == "me/up:15-to-18" && command.targetImage == "postgres:18-bookworm")
        #expect(command.backupDirectory == "/srv/dumps" && command.jobs == 4 && command.stopTimeout == 30 && command.readyTimeout == 20)
        #expect(command.change.yes && command.change.noRollback && command.noOnlinePrepare)
        #expect(!command.change.dryRun && !command.change.json)
    }

    @Test func pgUpgradeDefaults() throws {
        let command = try parse(["pg-upgrade", "--to", "17"], as: Upshift.PgUpgrade.self)
        #expect(command.method == "dump" && command.mode == nil && command.jobs == nil && command.stopTimeout == 120 && command.readyTimeout == 180)
        #expect(!command.change.yes && !command.change.noRollback && !command.noOnlinePrepare && !command.change.dryRun)
    }

    @Test func pgUpgradeRefusesWhatCannotRun() {
        #expect(refused(["pg-upgrade"]), "--to is required")
        #expect(refused(["pg-upgrade", "--to", "18", "--method", "rsync"]))
        #expect(refused(["pg-upgrade", "--to", "18", "--mode", "link"]), "--mode without --method pg_upgrade")
        #expect(refused(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "move"]))
        #expect(refused(["pg-upgrade", "--to", "18", "--upgrade-image", "x"]), "--upgrade-image without --method pg_upgrade")
        #expect(refused(["pg-upgrade", "--to", "18", "--jobs", "0"]))
        #expect(refused(["pg-upgrade", "--to", "18", "--stop-timeout", "0"]))
        #expect(refused(["pg-upgrade", "--to", "18", "--ready-timeout", "0"]))
        #expect(refused(["pg-upgrade", "--to", "eighteen"]))
        #expect(!refused(["pg-upgrade", "--to", "18", "--method", "pg_upgrade", "--mode", "swap"]))
    }

    /// `--dry-run`, `--json`, `--yes` and `--no-rollback` on every command that changes something, from one
    /// option group (`ChangeOptions`), so they mean the same everywhere.
    @Test func dryRunIsAFlagOfEveryChangingCommand() throws {
        #expect(try parse(["pg-upgrade", "--to", "18", "--dry-run", "--json"], as: Upshift.PgUpgrade.self).change.dryRun)
        #expect(try parse(["pg-upgrade", "--to", "18", "--dry-run", "--json"], as: Upshift.PgUpgrade.self).change.json)
        #expect(try parse(["update", "--to", "1.0.0", "--dry-run", "--json"], as: Upshift.Update.self).change.dryRun)
        #expect(try parse(["update", "--to", "1.0.0", "--dry-run", "--json"], as: Upshift.Update.self).change.json)
        #expect(try parse(["restore", "--db-file", "db.psql.bin.gz", "--dry-run"], as: Upshift.Restore.self).change.dryRun)
        #expect(try parse(["import", "-f", "records.change.json", "--dry-run"], as: Upshift.Import.self).change.dryRun)
        #expect(try parse(["transfer", "--to", "/srv/b", "--dry-run"], as: Upshift.Transfer.self).change.dryRun)
        #expect(try !parse(["update", "--to", "1.0.0"], as: Upshift.Update.self).change.dryRun)
        #expect(try !parse(["transfer", "--to", "/srv/b"], as: Upshift.Transfer.self).change.dryRun)
        let all = ["--dry-run", "--json", "--no-rollback", "--yes"]
        for change in [
            try parse(["restore", "--db-file", "d"] + all, as: Upshift.Restore.self).change, try parse(["import", "-f", "r.json"] + all, as: Upshift.Import.self).change,
            try parse(["transfer", "--to", "/srv/b"] + all, as: Upshift.Transfer.self).change, try parse(["update", "--to", "1.0.0"] + all, as: Upshift.Update.self).change,
        ] {
            #expect(change.dryRun && change.json && change.noRollback && change.yes)
        }
        // Read-only commands have none: a typo'd safety flag must not be ignored silently.
        #expect(refused(["status", "--dry-run"]))
        #expect(refused(["backup", "--dry-run"]))
    }

    @Test func readOnlyCommands() throws {
        let status = try parse(["status", "--json", "--db-service", "db"], as: Upshift.Status.self)
        #expect(status.json && status.global.dbService == "db")
        let doctor = try parse(["doctor", "--to", "17", "--json"], as: Upshift.Doctor.self)
        #expect(doctor.targetMajor == 17 && doctor.json)
        #expect(try parse(["doctor"], as: Upshift.Doctor.self).targetMajor == nil)
        let log = try parse(["log", "--run", "20261201", "--json"], as: Upshift.Log.self)
        #expect(log.run == "20261201" && log.json)
        let backup = try parse(["backup", "--backup-dir", "/srv/b", "--media", "./uploads", "--yes"], as: Upshift.Backup.self)
        #expect(backup.backupDirectory == "/srv/b" && backup.mediaDirectory == "./uploads" && backup.yes)
        let export = try parse(["export", "-f", "out.json", "--overwrite", "--include-tokens", "--exclude-plugins", "-C", "/srv/a"], as: Upshift.Export.self)
        #expect(export.file == "out.json" && export.overwrite && export.includeTokens && export.excludePlugins && !export.includeEmail)
        #expect(export.project.projectDirectory == "/srv/a")
    }

    @Test func changingCommands() throws {
        let rollback = try parse(["rollback", "--run", "20261201-090000-a1b2", "--yes"], as: Upshift.Rollback.self)
        #expect(rollback.runID == "20261201-090000-a1b2" && rollback.yes)
        let update = try parse(["update", "--to", "1.0.0", "--service", "app", "--allow-downgrade", "--backup-dir", "d", "--yes", "--no-rollback"], as: Upshift.Update.self)
        #expect(update.version == "1.0.0" && update.service == "app" && update.allowDowngrade && update.backupDirectory == "d" && update.change.yes && update.change.noRollback)
        #expect(refused(["update"]), "--to is required")
        let restore = try parse(["restore", "--db-file", "db.dump", "--media-file", "m.tar", "--media", "./uploads", "--backup-dir", "b", "--yes"], as: Upshift.Restore.self)
        #expect(restore.dbFile == "db.dump" && restore.mediaFile == "m.tar" && restore.mediaDirectory == "./uploads" && restore.backupDirectory == "b" && restore.change.yes)
        #expect(refused(["restore"]), "--db-file is required")
        let records = try parse(["import", "-f", "in.json", "--clear", "--convert-from", "latin1", "--strict", "--yes"], as: Upshift.Import.self)
        #expect(records.file == "in.json" && records.clear && records.convertFrom == "latin1" && records.change.yes)
        #expect(records.options == ImportRecordsOptions(clear: true, strict: true))
        #expect(refused(["import", "-f", "in.json", "--convert-from", "klingon"]))
        let transfer = try parse(["transfer", "--to", "/srv/b", "--include-media", "--yes", "--no-rollback", "-C", "/srv/a"], as: Upshift.Transfer.self)
        #expect(transfer.targetDirectory == "/srv/b" && transfer.includeMedia && transfer.change.yes && transfer.change.noRollback && transfer.project.projectDirectory == "/srv/a")
    }

    /// `upshift -C DIR -f FILE pg-upgrade …`: compose's order works as well as ArgumentParser's.
    @Test func composeOptionsBeforeTheSubcommand() throws {
        let command = try parse(["-C", "/srv/inventree", "-f", "a.yml", "--file=b.yml", "-p", "inv", "pg-upgrade", "--to", "18", "--dry-run"], as: Upshift.PgUpgrade.self)
        #expect(command.global.projectDirectory == "/srv/inventree" && command.global.file == ["a.yml", "b.yml"] && command.global.projectName == "inv")
        #expect(command.change.dryRun && command.targetMajor == 18)
        #expect(Upshift.globalOptionsAfterSubcommand(["--help"]) == ["--help"])
        #expect(Upshift.globalOptionsAfterSubcommand(["-C"]) == ["-C"], "a value-less trailing option is left for the parser to refuse")
    }

    @Test func everySubcommandIsRegistered() {
        let names = Upshift.configuration.subcommands.map { $0._commandName }
        #expect(Set(names).isSuperset(of: ["pg-upgrade", "update", "restore", "import", "export", "transfer", "status", "doctor", "rollback", "log", "backup"]), "\(names)")
    }
}

/// Help text: what `upshift <command> --help` prints.
struct CommandHelpTests {
    static let subcommands: [any ParsableCommand.Type] = Upshift.configuration.subcommands

    /// Runs of two or more spaces inside a sentence (an editor joined a `\`-continued line with its
    /// indentation, say). The help's own layout is allowed: indentation, and the gap between an option's
    /// names and its description.
    static func midSentenceSpaceRuns(_ help: String) -> [String] {
        help.components(separatedBy: "\n").compactMap { line in
            var text = Substring(line.drop { $0 == " " })
            if text.hasPrefix("-") || text.hasPrefix("<") {
                guard let gap = text.range(of: "  ") else { return nil }
                text = text[gap.upperBound...].drop { $0 == " " }
            }
            return text.contains("  ") ? line : nil
        }
    }

    @Test func theCheckFindsAJoinedLine() {
        #expect(Self.midSentenceSpaceRuns("  --to <to>        Target major.\n  Taken while                 the app serves.") == ["  Taken while                 the app serves."])
        #expect(Self.midSentenceSpaceRuns("OPTIONS:\n  -C, --project-directory <dir>\n                          Compose project directory.\n  --yes   Skip it.") == [])
    }

    @Test func pgUpgradeHelpHasNoRunsOfSpacesMidSentence() {
        let help = Upshift.helpMessage(for: Upshift.PgUpgrade.self, columns: 1000)
        #expect(help.contains("--no-online-prepare takes both inside the window."), "\(help)")
        #expect(Self.midSentenceSpaceRuns(help) == [])
    }

    @Test(arguments: CommandHelpTests.subcommands.map { $0._commandName })
    func everyHelpHasNoRunsOfSpacesMidSentence(_ name: String) throws {
        let type = try #require(Self.subcommands.first { $0._commandName == name })
        let help = Upshift.helpMessage(for: type, columns: 1000)
        #expect(help.contains("USAGE: upshift \(name)"))
        #expect(Self.midSentenceSpaceRuns(help) == [])
    }

    @Test func rootHelpListsTheSubcommands() {
        let help = Upshift.helpMessage(columns: 1000)
        for name in ["pg-upgrade", "update", "rollback", "transfer"] { #expect(help.contains("  \(name) "), "\(name)") }
    }
}

struct CommandTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
