import Foundation
import UpshiftPostgres

/// Step 10b: restore the dump into the new cluster with `ON_ERROR_STOP`: globals first (minus the
/// superuser the entrypoint already created), then each database from its own file, streamed from disk.
/// The database the entrypoint pre-created (`POSTGRES_DB`) is dropped first so it is recreated exactly as
/// it was (owner, encoding, locale).
struct RestoreDumpStep: StepAction {
    var world: PgUpgradeWorld

    static func planned(_ world: PgUpgradeWorld) -> PlannedStep {
        let psql = world.isolatedCompose.execCommand(world.service, psqlArguments(world), environment: ["PGPASSWORD": "******"])
        return PlannedStep(
            id: "restore", title: "Restore the dump into PostgreSQL \(world.context.options.targetMajor) (ON_ERROR_STOP)", kind: "pg.restore",
            commands: PlannedStep.render([psql], redactor: world.redactor) + ["< \(DumpClusterStep.directory(world))/{globals.sql,db-N.sql}"],
            mutates: true, compensation: nil,
            notes: ["the restored cluster is moved aside with the new data directory if the run is undone"])
    }

    static func psqlArguments(_ world: PgUpgradeWorld) -> [String] {
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", world.database.superuser, "-d", "postgres"]
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let dir = DumpClusterStep.directory(world)
        let manifest = try DumpManifest.read(dir + "/manifest.json")
        // Globals, without the role the entrypoint created (CREATE ROLE would fail under ON_ERROR_STOP).
        guard let globals = manifest.files.first(where: { $0.database == nil }) else { throw UpshiftError("the dump has no globals file") }
        guard try DumpManifest.digest(of: globals, in: dir) == globals.sha256 else { throw Self.changed(dir, globals.name) }
        // The databases' files are hashed while they are restored, not before: the restore only writes into
        // the new, still private cluster, and a mismatch fails the step (and the run rolls back) all the same.
        // Hashing first would add a full read of the dump to the downtime.
        let files = manifest.files.filter { $0.database != nil }
        let integrity = Task { () throws -> [String] in
            try await Blocking.run { () throws -> [String] in
                try files.filter { try DumpManifest.digest(of: $0, in: dir) != $0.sha256 }.map(\.name)
            }
        }
        let restored = try await restoreDatabases(manifest, globals: globals, in: dir, context: context)
        if let changed = try await integrity.value.first { throw Self.changed(dir, changed) }
        return StepOutcome(summary: "\(restored) databases restored; every dump file's SHA-256 matches the manifest")
    }

    static func changed(_ dir: String, _ name: String) -> UpshiftError {
        UpshiftError("the dump file \(dir)/\(name) changed since it was written (SHA-256 mismatch)")
    }

    func restoreDatabases(_ manifest: DumpManifest, globals: DumpManifest.File, in dir: String, context: StepContext) async throws -> Int {
        let globalsText = try String(contentsOfFile: dir + "/" + globals.name, encoding: .utf8)
        let filtered = Self.dropCreateRole(world.database.superuser, from: globalsText)
        try await psql(input: .data(Data(filtered.utf8)), label: "globals", context: context)

        let restored = manifest.files.compactMap(\.database)
        if world.database.database != "postgres", restored.contains(world.database.database) {
            let parameters = try await world.serverConnection()
            let name = world.database.database
            _ = try await Blocking.run { () throws -> Int in
                try Connection(parameters).execute("DROP DATABASE \(quoteIdentifier(name))").rows.count
            }
        }
        for file in manifest.files where file.database != nil {
            if file.isDirectory {
                try await pgRestore(file, in: dir, context: context)
            } else {
                try await psql(input: .file(dir + "/" + file.name), label: file.database!, context: context)
            }
        }
        return restored.count
    }

    enum Input { case data(Data), file(String) }

    /// `pg_restore -j N --exit-on-error` of a `-Fd` dump, from a one-off container of the target image in
    /// the new server's network namespace, the dump mounted read-only. `--create` recreates every
    /// database but `postgres`, which exists in every new cluster.
    func pgRestore(_ file: DumpManifest.File, in dir: String, context: StepContext) async throws {
        let name = file.database ?? "postgres"
        let env = world.database.passwordEnvironment
        let jobs = max(1, world.context.jobs)
        var argv = ["pg_restore", "-U", world.database.superuser, "-j", String(jobs), "--exit-on-error", "-d", "postgres"]
        if name != "postgres" { argv.append("--create") }
        argv.append(DumpClusterStep.dumpMount + "/" + file.name)
        let container = try await DumpClusterStep(world: world).container()
        var command = DumpClusterStep.dumpCommand(world, container: container, argv, environment: env, dumpDirectory: dir, readOnly: true, image: world.context.targetImage.description)
        command.timeout = .seconds(6 * 3600)
        context.progress("restoring \(name) (pg_restore -j \(jobs))")
        let result = try await world.runner.run(command, stdout: .discard, onLine: nil)
        guard result.termination.isSuccess else {
            let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw UpshiftError("restoring \(name) failed (\(result.termination)): \(world.redactor.redact(String(stderr.suffix(800))))")
        }
    }

    func psql(input: Input, label: String, context: StepContext) async throws {
        let env = world.database.passwordEnvironment
        var command = world.isolatedCompose.execCommand(world.service, Self.psqlArguments(world), environment: env, timeout: .seconds(6 * 3600))
        switch input {
        case .data(let data): command.standardInput = data
        case .file(let path): command.standardInputFile = path
        }
        context.progress("restoring \(label)")
        let result = try await world.runner.run(command, stdout: .discard, onLine: nil)
        guard result.termination.isSuccess else {
            let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw UpshiftError("restoring \(label) failed (\(result.termination)): \(world.redactor.redact(String(stderr.suffix(800))))")
        }
    }

    /// Removes `CREATE ROLE <superuser>;` (plain or quoted) from a globals dump; everything else is kept,
    /// including the `ALTER ROLE` that carries the old password hash and attributes.
    static func dropCreateRole(_ superuser: String, from text: String) -> String {
        let forms: Set<String> = ["CREATE ROLE \(superuser);", "CREATE ROLE \(quoteIdentifier(superuser));"]
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !forms.contains(String($0)) }
            .joined(separator: "\n")
    }
}
