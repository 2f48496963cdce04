import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The serving old cluster copied for the staged upgrade (`StagedUpgrade`), without stopping it:
/// `pg_basebackup` into `<old>.copy-<run>` in the same mount, then recovered and shut down cleanly by the
/// old major, because pg_upgrade only takes a cleanly shut down cluster.
struct PrivateCopy: Sendable {
    var world: PgUpgradeWorld
    /// Its `oldRelative` is the copy.
    var upgrade: PgUpgradeRun

    /// Room left beside the copy: a tenth of it, at least 256 MiB (WAL of the copy's recovery, the staged
    /// cluster's catalog and statistics, and the serving database's own growth meanwhile). Filling the
    /// volume would stop the production server, so staging is skipped rather than squeezed in.
    static func required(clusterBytes: Int64) -> Int64 {
        clusterBytes + max(clusterBytes / 10, 256 << 20)
    }

    /// Why this run cannot copy the cluster online, or nil. Reads the server's settings (`parameters`, every
    /// one of `databases`) and the mount's free space (`df`, `du` in the upgrade container, read-only).
    func obstacle(server parameters: ConnectionParameters, databases: [String]) async throws -> String? {
        let (walLevel, senders) = try await Blocking.run { () throws -> (String, Int) in
            let row = try Connection(parameters).query("SELECT current_setting('wal_level') AS level, current_setting('max_wal_senders')::int AS senders").single()
            return (try row.string("level") ?? "", Int(try row.string("senders") ?? "") ?? 0)
        }
        if walLevel == "minimal" || senders < 2 {
            return "wal_level=\(walLevel), max_wal_senders=\(senders): pg_basebackup cannot copy the serving cluster (it needs wal_level replica and two WAL senders)"
        }
        if let unlogged = try await Self.unloggedTables(parameters, databases: databases).first {
            return "\(unlogged) is UNLOGGED, and a base backup copies no rows of unlogged tables"
        }
        let live = DataDirectoryOperations.containerPath(world.database.dataLocation.subpath)
        // du of a serving cluster may race with a WAL segment or temporary file that vanishes (exit 1, with
        // the total still printed): the total is what counts.
        let used = try await upgrade.output("du", ["-s", "-k", live])
        let free = try await upgrade.run("df", ["-P", "-k", DataDirectoryOperations.mountPoint], what: "reading the mount's free space (df)")
        guard let usedKiB = Int64(used.stdoutText.split(whereSeparator: \.isNewline).last?.split(whereSeparator: \.isWhitespace).first ?? ""),
              let freeKiB = Self.availableKiB(df: free.stdoutText)
        else {
            return "cannot read the cluster's size or the mount's free space (du: \(used.stdoutText.prefix(80)); df: \(free.stdoutText.prefix(160)))"
        }
        let needed = Self.required(clusterBytes: usedKiB * 1024)
        guard freeKiB * 1024 >= needed else {
            return "a copy of the \(ByteFormat.string(usedKiB * 1024)) cluster needs \(ByteFormat.string(needed)) free in \(DataPlacement.describe(upgrade.mount)), which has \(ByteFormat.string(freeKiB * 1024))"
        }
        return nil
    }

    /// `database.schema.table` of every unlogged table: their rows are not in a base backup (recovery
    /// empties them), so a copy would lose them — the comparison with the snapshot would catch that, but
    /// only after the whole staging.
    static func unloggedTables(_ parameters: ConnectionParameters, databases: [String]) async throws -> [String] {
        try await Blocking.run { () throws -> [String] in
            var found: [String] = []
            for database in databases {
                let rows = try Connection(parameters.with(database: database)).query(
                    "SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relpersistence = 'u' AND c.relkind IN ('r', 'p') ORDER BY 1"
                ).rows
                found += try rows.compactMap { try $0.string("name").map { database + "." + $0 } }
            }
            return found
        }
    }

    /// "Available" of `df -P -k`'s data line.
    static func availableKiB(df output: String) -> Int64? {
        let lines = output.split(whereSeparator: \.isNewline)
        guard lines.count >= 2 else { return nil }
        let fields = lines[1].split(whereSeparator: \.isWhitespace)
        return fields.count >= 4 ? Int64(fields[3]) : nil
    }

    /// The `pg_basebackup` argv (`DumpClusterStep.dumpCommand` adds host and port). `--no-sync`: the
    /// recovery that follows syncs the whole directory anyway (a cluster that was not shut down cleanly
    /// always is), and a copy that does not survive a crash is deleted by the undo.
    var backupArguments: [String] {
        ["pg_basebackup", "-D", DataDirectoryOperations.containerPath(upgrade.oldRelative), "-X", "stream", "-c", "fast", "--no-sync", "-w",
         "-U", world.database.superuser]
    }

    /// `pg_basebackup` of the old image in a container of its own that joins the db container's network
    /// namespace (`DumpClusterStep.dumpCommand`), as the data owner (the files must be theirs), on the data
    /// mount, labelled with the run so that every undo stops it — after a `kill -9` of upshift it would
    /// otherwise go on writing into a directory the undo deletes. The password by name only.
    func backupCommand(container: String) -> Command {
        var command = DumpClusterStep.dumpCommand(
            world, container: container, backupArguments, environment: world.database.passwordEnvironment, image: world.database.imageText,
            runArguments: ["--user", "\(upgrade.tool.uid):\(upgrade.tool.gid)"] + DataDirectoryOperations.mountArguments(upgrade.mount, readOnly: false))
        command.timeout = .seconds(6 * 3600)
        return command
    }

    /// Creates the copy's directory for the data owner (the mount root may be root's) and copies the
    /// serving cluster into it.
    func take(_ context: StepContext) async throws {
        let path = DataDirectoryOperations.containerPath(upgrade.oldRelative)
        try await upgrade.run("mkdir", ["-m", "0700", path], what: "creating \(upgrade.oldRelative)", asRoot: true)
        try await upgrade.run("chown", ["\(upgrade.tool.uid):\(upgrade.tool.gid)", path], what: "handing \(upgrade.oldRelative) to uid \(upgrade.tool.uid)", asRoot: true)
        let container = try await DumpClusterStep(world: world).container()
        context.progress("pg_basebackup of the serving cluster into \(upgrade.oldRelative)")
        let result = try await world.runner.run(backupCommand(container: container), stdout: .discard, onLine: nil)
        guard result.termination.isSuccess else {
            throw UpshiftError("pg_basebackup of the serving cluster failed: " + world.redactor.redact(String(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))))
        }
    }

    /// The old major's server options while it recovers the copy: reachable by nobody, archiving nothing
    /// (an `archive_command` would push the copy's WAL into the user's archive), no autovacuum.
    static let recoveryOptions = "-c listen_addresses='' -c unix_socket_directories=/tmp -c archive_mode=off -c autovacuum=off"

    /// Recovers the copy to the end of the backup with the old major and shuts it down cleanly, proven by
    /// `pg_controldata`.
    func recover(_ context: StepContext) async throws {
        let path = DataDirectoryOperations.containerPath(upgrade.oldRelative)
        let pgCtl = upgrade.tool.binOld + "/pg_ctl"
        let log = "/tmp/upshift-copy-recovery.log"
        context.progress("recovering the copy with PostgreSQL \(world.context.oldMajor)")
        let started = try await upgrade.output(pgCtl, ["-D", path, "-w", "-t", String(world.context.options.readyTimeout), "-l", log, "-o", Self.recoveryOptions, "start"])
        if !started.termination.isSuccess {
            let tail = (try? await upgrade.output("tail", ["-n", "15", log]))?.stdoutText ?? ""
            throw UpshiftError(
                "PostgreSQL \(world.context.oldMajor) could not recover the copy of the old cluster (nothing of yours changed):\n" + world.redactor.redact(tail.trimmingCharacters(in: .whitespacesAndNewlines)),
                hint: "run again with --no-online-prepare to upgrade the stopped cluster inside the window instead")
        }
        try await upgrade.run(pgCtl, ["-D", path, "-m", "fast", "-w", "-t", String(world.context.options.stopTimeout + 60), "stop"], what: "shutting the recovered copy down")
        let controldata = try await upgrade.run(upgrade.tool.binOld + "/pg_controldata", [path], what: "pg_controldata of the copy")
        let state = StopDatabaseStep.clusterState(pgControldata: controldata.stdoutText)
        guard state == "shut down" else {
            throw UpshiftError("the recovered copy of the old cluster did not shut down cleanly (pg_controldata: \(state))")
        }
    }
}
