import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// Restore the dump into the new cluster with `ON_ERROR_STOP`: globals first (minus the
/// superuser the entrypoint already created), then each database from its own file, streamed from disk.
/// The database the entrypoint pre-created (`POSTGRES_DB`) is dropped first so it is recreated exactly as
/// it was (owner, encoding, locale).
struct RestoreDumpStep: PlanStep {
    var world: PgUpgradeWorld
    /// Where the dump goes: the service's new server (the window) or the staged server (before it).
    var target: ServerTarget = .service

    func planned() -> PlannedStep {
        let psql = world.isolatedCompose.execCommand(world.service, Self.psqlArguments(world), environment: ["PGPASSWORD": "******"])
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
        let restored = try await restoreVerified(manifest, in: dir, context: context)
        return StepOutcome(summary: "\(restored) databases restored; every dump file's SHA-256 matches the manifest")
    }

    /// Restores every file of `manifest` into the target, checking each file's SHA-256.
    func restoreVerified(_ manifest: DumpManifest, in dir: String, context: StepContext) async throws -> Int {
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
        return restored
    }

    static func changed(_ dir: String, _ name: String) -> UpshiftError {
        UpshiftError("the dump file \(dir)/\(name) changed since it was written (SHA-256 mismatch)")
    }

    func restoreDatabases(_ manifest: DumpManifest, globals: DumpManifest.File, in dir: String, context: StepContext) async throws -> Int {
        let globalsText = try String(contentsOfFile: dir + "/" + globals.name, encoding: .utf8)
        // Roles the new cluster's entrypoint already made (the superuser; Bitnami's application user too) would
        // stop the globals with "already exists": their CREATE goes, their ALTER (password, attributes) stays.
        let parameters = try await target.connection(world)
        let existing = try await Blocking.run { () throws -> [String] in
            try Connection(parameters).query("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1").rows.compactMap { try $0.string("rolname") }
        }
        let filtered = Self.dropCreateRoles(Set(existing + [world.database.superuser]), from: globalsText)
        try await psql(input: .data(Data(filtered.utf8)), label: "globals", context: context)

        let restored = manifest.files.compactMap(\.database)
        if world.database.database != "postgres", restored.contains(world.database.database) {
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
        let container = try await target.container(world)
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
        var command = target.exec(world, Self.psqlArguments(world), environment: env, stdin: true)
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
        dropCreateRoles([superuser], from: text)
    }

    /// `dropCreateRole` for every role in `roles`.
    static func dropCreateRoles(_ roles: Set<String>, from text: String) -> String {
        let forms = Set(roles.flatMap { ["CREATE ROLE \($0);", "CREATE ROLE \(quoteIdentifier($0));"] })
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !forms.contains(String($0)) }
            .joined(separator: "\n")
    }
}

/// The server a restore or analyze talks to: the service's (inside the window) or the staged one-off
/// server (`StagedCluster`, before it), whose container is known by name.
enum ServerTarget: Sendable, Hashable {
    case service
    case staged(container: String, address: String)

    /// libpq as the superuser.
    func connection(_ world: PgUpgradeWorld, database: String = "postgres") async throws -> ConnectionParameters {
        switch self {
        case .service: return try await world.serverConnection(database: database)
        case .staged(_, let address): return world.database.superuserConnection(host: address, port: 5432, database: database)
        }
    }

    /// The container whose network namespace a one-off pg_restore joins.
    func container(_ world: PgUpgradeWorld) async throws -> String {
        switch self {
        case .service: return try await DumpClusterStep(world: world).container()
        case .staged(let container, _): return container
        }
    }

    /// A client tool inside the server's container; secrets by name only.
    func exec(_ world: PgUpgradeWorld, _ argv: [String], environment: [String: String], stdin: Bool = false) -> Command {
        switch self {
        case .service:
            return world.isolatedCompose.execCommand(world.service, argv, environment: environment, timeout: .seconds(6 * 3600))
        case .staged(let container, _):
            var args = ["exec"]
            if stdin { args.append("-i") }
            for name in environment.keys.sorted() { args += ["-e", name] }
            return Command("docker", args + [container] + argv, environment: environment, timeout: .seconds(6 * 3600))
        }
    }
}
