import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The private copy of the serving cluster kept current while the application writes: a one-off server of
/// the old major (the upgrade image's old binaries) replays the copy as a streaming standby of the serving
/// cluster until the window. In the window, once the old server has shut down cleanly, the standby is proven
/// to have replayed the old server's shutdown checkpoint, promoted and shut down cleanly, and pg_upgrade runs
/// on it — the user's cluster is never touched, and no dump is taken in the window.
///
/// Why it works through isolation: the standby shares the db container's network namespace and connects to
/// 127.0.0.1, which the window's network swap leaves in place; a walsender is not a client session, so the
/// isolation neither ends nor counts it. The password reaches the walreceiver's libpq as `PGPASSWORD`, given
/// to `docker run` by name: it is in no file and on no argv.
struct StandbyServer: Sendable {
    var world: PgUpgradeWorld
    /// Its `oldRelative` is the copy the standby replays.
    var upgrade: PgUpgradeRun

    /// `upshift-standby-<run>`, labelled with the run so that every data undo removes it.
    var name: String { "upshift-standby-\(world.context.runID.rawValue)" }
    var copyPath: String { DataDirectoryOperations.containerPath(upgrade.oldRelative) }
    /// Its own socket directory and port: it shares the serving server's network namespace.
    static let socketDirectory = "/tmp"
    static let port = "5433"

    /// Where the run notes that a standby follows the serving cluster (`CheckSnapshotStep` reads it).
    static func path(_ folder: RunFolder) -> String { folder.path + "/standby.json" }
    static func exists(_ folder: RunFolder) -> Bool { FileManager.default.fileExists(atPath: path(folder)) }

    /// `primary_conninfo`: the serving server on 127.0.0.1 as the superuser, no password (libpq takes it from
    /// the environment).
    var primaryConninfo: String {
        "host=127.0.0.1 port=5432 user=\(Self.conninfoValue(world.database.superuser)) application_name=upshift_standby"
    }

    /// A libpq connection-string value: single-quoted, with `\` and `'` escaped by a backslash.
    static func conninfoValue(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// The `docker run -d` of the standby, in the db container's network namespace, as the data owner.
    /// With `stopBefore`, it replays every record before that LSN and none from it, then promotes
    /// (`PromoteAtSlotsStep`): exactly what the run's logical slots do not send.
    func runCommand(container: String, stopBefore: String? = nil) -> Command {
        var args = ["run", "-d", "--name", name, "--network", "container:" + container, "--stop-signal", "SIGINT", "--user", "\(upgrade.tool.uid):\(upgrade.tool.gid)"]
        args += DataDirectoryOperations.mountArguments(upgrade.mount, readOnly: false)
        args += ["--label", "com.upshift.helper=true"] + RunHelperContainers.arguments(runID: world.context.runID.rawValue)
        for name in world.database.passwordEnvironment.keys.sorted() { args += ["-e", name] }
        args += ["--entrypoint", upgrade.tool.binOld + "/postgres", upgrade.tool.image, "-D", copyPath]
        for setting in [
            "listen_addresses=", "unix_socket_directories=\(Self.socketDirectory)", "port=\(Self.port)", "archive_mode=off", "hot_standby=on",
            "primary_conninfo=\(primaryConninfo)", "primary_slot_name=", "restore_command=", "recovery_target_timeline=latest",
        ] {
            args += ["-c", setting]
        }
        if let stopBefore {
            for setting in ["recovery_target_lsn=\(stopBefore)", "recovery_target_inclusive=off", "recovery_target_action=promote"] {
                args += ["-c", setting]
            }
        }
        return Command("docker", args, environment: world.database.passwordEnvironment, timeout: .seconds(120))
    }

    /// `psql` in the standby's container over its socket; one value back.
    func query(_ sql: String, database: String = "postgres") async throws -> String {
        let env = world.database.passwordEnvironment
        var args = ["exec", "--user", "\(upgrade.tool.uid):\(upgrade.tool.gid)"]
        for name in env.keys.sorted() { args += ["-e", name] }
        args += [name, upgrade.tool.binOld + "/psql", "-X", "-A", "-t", "-h", Self.socketDirectory, "-p", Self.port, "-U", world.database.superuser, "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql]
        let result = try await world.runner.run(Command("docker", args, environment: env, timeout: .seconds(60)))
        guard result.termination.isSuccess else {
            throw UpshiftError("the standby did not answer (\(sql)): " + world.redactor.redact(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts the standby on the copy (which `pg_basebackup` has just taken) and waits until it streams
    /// from the serving server.
    func start(container: String, context: StepContext) async throws {
        try await upgrade.run("touch", [copyPath + "/standby.signal"], what: "marking the copy as a standby")
        context.progress("starting a PostgreSQL \(world.context.oldMajor) standby on \(upgrade.oldRelative)")
        try await launch(container: container, stopBefore: nil)
        let deadline = world.readyDeadline
        var last = ""
        while true {
            try await requireRunning()
            if let status = try? await query("SELECT status FROM pg_stat_wal_receiver") {
                if status == "streaming" { return }
                last = status.isEmpty ? "no WAL receiver yet" : status
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the standby of the serving cluster did not start streaming within \(world.context.options.readyTimeout) s (\(last.isEmpty ? "not accepting queries" : last))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Removes any earlier container of the same name and starts a new one.
    func launch(container: String, stopBefore: String?) async throws {
        _ = try? await world.runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
        try (try await world.runner.run(runCommand(container: container, stopBefore: stopBefore))).check(redactor: world.redactor)
    }

    /// Starts the standby again, to replay up to `lsn` (not including the record there) and promote; waits
    /// until it has promoted and returns where its replay ended.
    func replayAndPromote(container: String, before lsn: String, context: StepContext) async throws -> String {
        context.progress("replaying the standby up to \(lsn) and promoting it")
        try await launch(container: container, stopBefore: lsn)
        let deadline = world.readyDeadline
        while true {
            try await requireRunning()
            if let answer = try? await query("SELECT pg_is_in_recovery()::text || ' ' || coalesce(pg_last_wal_replay_lsn()::text, '')") {
                let parts = answer.split(separator: " ").map(String.init)
                if parts.first == "false" { return parts.count > 1 ? parts[1] : "" }
            }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the standby did not reach \(lsn) and promote within \(world.context.options.readyTimeout) s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Stops the standby while it still follows (a standby's clean shutdown is a restart point, not
    /// "shut down"), and removes its container.
    func pause() async throws {
        let timeout = world.context.options.stopTimeout
        try (try await world.runner.run(Command("docker", ["stop", "-t", String(timeout), name], timeout: .seconds(Int64(timeout) + 120)))).check()
        try (try await world.runner.run(Command("docker", ["rm", "-v", name], timeout: .seconds(60)))).check()
    }

    /// Fails with the standby's last log lines when its container is no longer running.
    func requireRunning() async throws {
        try await OneOffServerState.requireRunning(name, what: "the standby of the old cluster", runner: world.runner, redactor: world.redactor)
    }

    /// Waits until the standby has replayed the record at `checkpoint` (the old server's shutdown checkpoint,
    /// its last record): the end of the last replayed record lies beyond it only then, since records are
    /// contiguous and nothing follows a clean shutdown's checkpoint.
    func waitReplayed(past checkpoint: String, deadline: ContinuousClock.Instant) async throws -> String {
        var replayed = "?"
        while true {
            try await requireRunning()
            let answer = try await query("SELECT pg_last_wal_replay_lsn()::text || ' ' || (pg_last_wal_replay_lsn() > '\(checkpoint)'::pg_lsn)::text")
            let parts = answer.split(separator: " ")
            replayed = parts.first.map(String.init) ?? "?"
            if parts.count == 2 && parts[1] == "true" { return replayed }
            guard ContinuousClock.now < deadline else {
                throw UpshiftError("the standby replayed up to \(replayed), not past the old server's shutdown checkpoint at \(checkpoint): it cannot stand in for the old cluster")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Promotes the standby: it stops following and becomes a cluster of its own.
    func promote() async throws {
        try await runInStandby([upgrade.tool.binOld + "/pg_ctl", "promote", "-w", "-t", String(world.context.options.readyTimeout), "-D", copyPath], what: "promoting the standby")
    }

    /// Gives every used sequence of the promoted copy the old cluster's value. A primary WAL-logs sequence
    /// values 32 ahead of what it hands out (and writes the true value only at checkpoints), so a standby
    /// replays values up to 32 ahead; the old cluster's own values, read in the window once nothing could
    /// write (`fingerprint-old`), are what pg_dump would have carried over.
    /// - Returns: how many sequences were set.
    func restoreSequences(_ old: Fingerprint) async throws -> Int {
        var count = 0
        for database in old.databases {
            let statements = VerifySubscriberStep.setvalStatements(database)
            guard !statements.isEmpty else { continue }
            _ = try await query(statements.map { $0 + ";" }.joined(separator: " "), database: database.name)
            count += statements.count
        }
        return count
    }

    /// Shuts the promoted copy down cleanly and removes the container; `pg_controldata` must then say
    /// "shut down", which pg_upgrade needs.
    func stop() async throws {
        let timeout = world.context.options.stopTimeout
        try (try await world.runner.run(Command("docker", ["stop", "-t", String(timeout), name], timeout: .seconds(Int64(timeout) + 120)))).check()
        try (try await world.runner.run(Command("docker", ["rm", "-v", name], timeout: .seconds(60)))).check()
        let controldata = try await upgrade.run(upgrade.tool.binOld + "/pg_controldata", [copyPath], what: "pg_controldata of the promoted copy")
        let state = StopDatabaseStep.clusterState(pgControldata: controldata.stdoutText)
        guard state == "shut down" else {
            throw UpshiftError("the promoted copy did not shut down cleanly (pg_controldata: \(state))")
        }
    }

    func runInStandby(_ argv: [String], what: String) async throws {
        let result = try await world.runner.run(Command("docker", ["exec", "--user", "\(upgrade.tool.uid):\(upgrade.tool.gid)", name] + argv, timeout: .seconds(600)))
        guard result.termination.isSuccess else {
            throw UpshiftError("\(what) failed: " + world.redactor.redact((result.stdoutText + result.stderrText).trimmingCharacters(in: .whitespacesAndNewlines).suffix(800).description))
        }
    }
}
