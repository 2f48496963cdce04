import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Payload of `RebuildFromDumpCompensator`. No secret: the password is read from the compose files when
/// the compensation runs.
struct RebuildFromDumpPayload: Sendable, Hashable, Codable {
    var handle: ComposeHandle
    var service: String
    var mount: DataLocation
    /// The OLD image: its entrypoint initialises the rebuilt cluster and its psql reads the dump, which was
    /// written by its own pg_dump.
    var image: String
    /// Where the old cluster is during the undo (its aside name), relative to the mount.
    var oldRelative: String
    /// Where the unusable old files are kept (never deleted).
    var unusableName: String
    var dumpDirectory: String
    var runFolder: String
    var readyTimeout: Int
}

/// Rebuilds the old cluster from the verified dump after `pg_upgrade --link` (new server started) or
/// `--swap` made its files unusable: the unusable directory is renamed and kept, a fresh cluster of the
/// OLD image is initialised in its place with the old cluster's settings, the dump is restored with
/// ON_ERROR_STOP, and the old configuration files are copied back. The isolate-db compensation then starts
/// it and proves it equals the fingerprint taken before the run.
///
/// The fresh cluster runs in a container of its own with no network: nothing but upshift can reach it.
/// Idempotent: a done-marker in the run folder ends a repeated undo early, and a half-built attempt is
/// moved out of the way and started over.
struct RebuildFromDumpCompensator: Compensating {
    static let kind: StepKind = "pg.rebuild-from-dump"
    var runner: any CommandRunning

    static func spec(_ upgrade: PgUpgradeRun) throws -> CompensationSpec {
        let world = upgrade.world
        let payload = RebuildFromDumpPayload(
            handle: world.context.handle, service: world.service, mount: upgrade.mount, image: world.database.imageText,
            oldRelative: upgrade.oldRelative, unusableName: upgrade.oldRelative + ".unusable-\(world.context.runID.rawValue)",
            dumpDirectory: DumpClusterStep.directory(world), runFolder: world.runFolder.path, readyTimeout: world.context.options.readyTimeout)
        return try CompensationSpec(
            kind: kind,
            description: "stop \(world.service), keep the unusable old files as \(payload.unusableName), rebuild PostgreSQL \(world.context.oldMajor) in \(payload.oldRelative) from \(payload.dumpDirectory)",
            typedPayload: payload)
    }

    func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(RebuildFromDumpPayload.self)
        let marker = payload.runFolder + "/old-cluster-rebuilt.done"
        if FileManager.default.fileExists(atPath: marker) { return }
        try await RunHelperContainers.removeLeftovers(runID: context.runID.rawValue, runner: runner, progress: context.progress)
        let tool = try await ComposeCLI.detect(runner: runner)
        var cli = payload.handle.cli(runner: runner, tool: tool)
        let database = try DatabaseService.select(from: try await cli.config(), named: payload.service)
        var redactor = context.redactor
        redactor.add(database.password)
        try await ComposeOperations(cli: cli, redactor: redactor).stop([payload.service], timeout: 120)

        let data = DataDirectoryOperations(runner: runner, image: payload.image)
        if try await !data.exists(payload.mount, relativePath: payload.unusableName) {
            if try await data.exists(payload.mount, relativePath: payload.oldRelative) {
                context.progress("keeping the unusable old files as \(payload.unusableName)")
                try await data.moveAside(payload.mount, from: payload.oldRelative, to: payload.unusableName)
            }
        } else if try await data.exists(payload.mount, relativePath: payload.oldRelative) {
            let attempt = payload.oldRelative + ".rebuild-attempt-\(Int(Date().timeIntervalSince1970))"
            context.progress("moving a half-built earlier attempt aside as \(attempt)")
            try await data.moveAside(payload.mount, from: payload.oldRelative, to: attempt)
        }

        let settings = try ClusterSettings.load(payload.runFolder + "/cluster-settings.json")
        let initdb = try settings.initdbArguments(newMajor: 0).filter { !$0.hasPrefix("--username=") }
        let manifest = try DumpManifest.read(payload.dumpDirectory + "/manifest.json")
        for file in manifest.files where try DumpManifest.digest(of: file, in: payload.dumpDirectory) != file.sha256 {
            throw UpshiftError("the dump file \(file.name) in \(payload.dumpDirectory) changed since it was written; cannot rebuild the old cluster from it")
        }

        let name = "upshift-rebuild-" + context.runID.rawValue
        _ = try await runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
        var env: [String: String] = ["POSTGRES_USER": settings.bootstrapSuperuser, "POSTGRES_DB": "postgres", "POSTGRES_INITDB_ARGS": initdb.joined(separator: " "),
                                     "PGDATA": DataDirectoryOperations.containerPath(payload.oldRelative)]
        if let password = database.password { env["POSTGRES_PASSWORD"] = password.revealed } else { env["POSTGRES_HOST_AUTH_METHOD"] = "trust" }
        var args = ["run", "-d", "--name", name, "--network", "none", "--label", "com.upshift.helper=true"]
        args += DataDirectoryOperations.mountArguments(payload.mount, readOnly: false)
        for key in env.keys.sorted() { args += ["-e", key] }
        args.append(payload.image)
        context.progress("initialising a fresh PostgreSQL cluster with \(payload.image)")
        try (try await runner.run(Command("docker", args, environment: env, timeout: .seconds(300)))).check(redactor: redactor)
        do {
            try await restore(into: name, payload: payload, manifest: manifest, settings: settings, execEnv: database.passwordEnvironment, redactor: redactor, context: context)
        } catch {
            _ = try? await runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
            throw error
        }
        _ = try await runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
        _ = FileManager.default.createFile(atPath: marker, contents: Data(), attributes: [.posixPermissions: 0o600])
        context.progress("old cluster rebuilt from the dump")
    }

    /// Restores the dump into the fresh cluster running in `name`, copies the old configuration back and
    /// stops it cleanly.
    func restore(into name: String, payload: RebuildFromDumpPayload, manifest: DumpManifest, settings: ClusterSettings, execEnv: [String: String], redactor: Redactor, context: CompensationContext) async throws {
        try await waitReady(container: name, superuser: settings.bootstrapSuperuser, timeout: payload.readyTimeout)

        let psql = ["exec", "-i"] + execEnv.keys.sorted().flatMap { ["-e", $0] } + [name, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", settings.bootstrapSuperuser, "-d", "postgres"]
        for file in manifest.files {
            var command = Command("docker", psql, environment: execEnv, timeout: .seconds(6 * 3600))
            if file.database == nil {
                let text = try String(contentsOfFile: payload.dumpDirectory + "/" + file.name, encoding: .utf8)
                command.standardInput = Data(RestoreDumpStep.dropCreateRole(settings.bootstrapSuperuser, from: text).utf8)
            } else {
                command.standardInputFile = payload.dumpDirectory + "/" + file.name
            }
            context.progress("restoring \(file.database ?? "globals") into the rebuilt cluster")
            let result = try await runner.run(command, stdout: .discard, onLine: nil)
            guard result.termination.isSuccess else {
                throw UpshiftError("restoring \(file.database ?? "globals") into the rebuilt old cluster failed: \(redactor.redact(String(result.stderrText.suffix(800))))")
            }
        }
        let from = DataDirectoryOperations.containerPath(payload.unusableName)
        let to = DataDirectoryOperations.containerPath(payload.oldRelative)
        // Checked: the fresh cluster was initialised with trust (it has no network); without the old pg_hba.conf
        // it would keep trusting every client once the service runs it again.
        for file in ["pg_hba.conf", "pg_ident.conf", "postgresql.conf", "postgresql.auto.conf"] {
            let copy = try await runner.run(Command("docker", ["exec", "-u", "postgres", name, "cp", from + "/" + file, to + "/" + file], timeout: .seconds(60)))
            guard copy.termination.isSuccess else {
                throw UpshiftError("cannot copy the old \(file) into the rebuilt cluster: \(redactor.redact(copy.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
        }
        try (try await runner.run(Command("docker", ["stop", "-t", "120", name], timeout: .seconds(180)))).check(redactor: redactor)
    }

    /// Polls `pg_isready` over TCP inside the container: the entrypoint's init server listens on the socket
    /// only, so a TCP answer means initialisation is over.
    func waitReady(container: String, superuser: String, timeout: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let ready = try await runner.run(Command("docker", ["exec", container, "pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", superuser], timeout: .seconds(30)))
            if ready.termination.isSuccess { return }
            let running = try await runner.run(Command("docker", ["inspect", "-f", "{{.State.Running}}", container], timeout: .seconds(30)))
            if running.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) != "true" {
                let logs = try await runner.run(Command("docker", ["logs", "--tail", "15", container], timeout: .seconds(30)))
                throw UpshiftError("the rebuild container stopped before PostgreSQL accepted connections:\n" + (logs.stdoutText + logs.stderrText).suffix(1200))
            }
            guard ContinuousClock.now < deadline else { throw UpshiftError("the rebuilt old cluster did not accept connections within \(timeout) s") }
            try await Task.sleep(for: .milliseconds(300))
        }
    }
}
