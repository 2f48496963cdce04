import Foundation
import UpshiftCompose
import UpshiftSupport

/// One container of the upgrade image that lives through the pg_upgrade steps (`sleep infinity`, the data
/// mount read-write, no network): `initdb`, `pg_upgrade --check`, `pg_upgrade` and the configuration carry
/// are `docker exec`s into it.
///
/// Why: every `docker run` costs about 0.3 s of downtime (0.4 s on a loaded machine), and those steps ran
/// nine of them; an exec costs about 0.1 s. The container carries the run's label
/// (`RunHelperContainers`), so every data undo removes it first. It is started while move-data-aside runs,
/// whose undo is the first to remove it — also after a `kill -9` of upshift, which
/// leaves an exec'd pg_upgrade running just as it left a `docker run`'s. The last step that uses it
/// (carry-config) removes it.
actor UpgradeWorker {
    nonisolated let tool: UpgradeTool
    nonisolated let mount: DataLocation
    nonisolated let runner: any CommandRunning
    private var started = false

    init(tool: UpgradeTool, mount: DataLocation, runner: any CommandRunning) {
        self.tool = tool
        self.mount = mount
        self.runner = runner
    }

    /// `upshift-upgrade-<run>`: one per run, so a leftover of an interrupted attempt is recognised.
    nonisolated var name: String { "upshift-upgrade-\(tool.runID)" }

    /// The `docker run -d` that starts the worker as the data owner.
    nonisolated var startCommand: Command {
        var args = ["run", "-d", "--name", name, "--network", "none", "--log-driver", "none", "--user", "\(tool.uid):\(tool.gid)"]
        args += DataDirectoryOperations.mountArguments(mount, readOnly: false)
        args += ["--label", "com.upshift.helper=true"] + RunHelperContainers.arguments(runID: tool.runID)
        args += ["--entrypoint", "sleep", tool.image, "infinity"]
        return Command("docker", args, timeout: .seconds(300))
    }

    /// `docker exec` of one of the image's binaries, as the data owner (or root), with secrets passed by
    /// name only (their values stay in the environment of the docker client).
    nonisolated func command(
        _ executable: String, _ arguments: [String], workdir: String? = nil, environment: [String: String] = [:],
        asRoot: Bool = false, stdin: Bool = false, timeout: Duration = .seconds(6 * 3600)
    ) -> Command {
        var args = ["exec"]
        if stdin { args.append("-i") }
        args += ["--user", asRoot ? "0:0" : "\(tool.uid):\(tool.gid)"]
        if let workdir { args += ["--workdir", workdir] }
        for name in environment.keys.sorted() { args += ["-e", name] }
        args += [name, executable] + arguments
        return Command("docker", args, environment: environment, timeout: timeout)
    }

    /// Starts the worker unless this process already did; a container of the same name (a previous
    /// attempt of this run) is removed first, so nothing it may still be doing carries over.
    func start() async throws {
        guard !started else { return }
        _ = try? await runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
        let result = try await runner.run(startCommand)
        guard result.termination.isSuccess else {
            throw UpshiftError(
                "cannot start the upgrade container from \(tool.image): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))",
                hint: "check that the image exists (`docker image inspect \(tool.image)`) and has `sleep`")
        }
        started = true
    }

    /// Removes the worker. A failure is reported, not thrown: the upgrade itself is done, and a sleeping
    /// container holds nothing but a mount.
    func remove() async -> String? {
        started = false
        let result = try? await runner.run(Command("docker", ["rm", "-f", name], timeout: .seconds(60)))
        if let result, result.termination.isSuccess { return nil }
        return "could not remove the upgrade container \(name): \(result?.stderrText.trimmingCharacters(in: .whitespacesAndNewlines) ?? "docker did not run")"
    }
}
