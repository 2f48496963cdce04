import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Preflight of `--method pg_upgrade` and of `--jobs`: everything that can be known before downtime about
/// the upgrade image, the transfer mode and the engine's cores.
public struct UpgradeToolPreflight: Sendable {
    public var runner: any CommandRunning
    public var progress: @Sendable (String) -> Void

    public init(runner: any CommandRunning, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.runner = runner
        self.progress = progress
    }

    /// `--jobs`, or the engine host's cores (`docker info`): the dump, restore and pg_upgrade run there.
    public func jobs(_ requested: Int?) async -> Int {
        if let requested { return max(1, requested) }
        guard let info = try? await runner.run(Command("docker", ["info", "--format", "{{.NCPU}}"], timeout: .seconds(30))),
              info.termination.isSuccess, let cores = Int(info.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), cores > 0
        else { return 1 }
        return cores
    }

    /// Checks the mode against the placement and target, pulls the upgrade image and proves it has both
    /// majors' binaries where it says.
    public func upgradeTool(options: PgUpgradeOptions, oldMajor: Int, database: DatabaseService, placement: DataPlacement, runID: RunID) async throws -> UpgradeTool {
        let mode = options.mode
        if mode == .swap, options.targetMajor < 18 {
            throw UpshiftError.usage("--mode swap needs pg_upgrade 18 or newer; --to \(options.targetMajor) has none", hint: "use --mode link or copy")
        }
        var oldRelative = ""
        switch placement {
        case .moveAside(_, let name, _, _, _): oldRelative = name
        case .pinSubdirectory:
            if mode.destroysOldCluster {
                throw UpshiftError.usage(
                    "--mode \(mode.rawValue) needs the old cluster in a sub-directory of its mount, but PGDATA is the root of \(DataPlacement.describe(placement.mount))",
                    hint: "use --mode copy (the old cluster stays untouched) or --method dump")
            }
        }
        let image = options.upgradeImage ?? UpgradeTool.defaultImage(oldMajor: oldMajor, newMajor: options.targetMajor)
        progress("pulling the upgrade image \(image)")
        let pull = try await runner.run(Command("docker", ["pull", image], timeout: .seconds(900)))
        guard pull.termination.isSuccess else {
            throw UpshiftError(
                "the upgrade image \(image) cannot be pulled: \(pull.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(pull.termination)")",
                hint: "pass --upgrade-image with an image holding PostgreSQL \(oldMajor) and \(options.targetMajor) binaries (like tianon/postgres-upgrade:\(oldMajor)-to-\(options.targetMajor)), or use --method dump; nothing was changed")
        }
        let inspect = try await runner.run(Command("docker", ["image", "inspect", "--format", "{{json .Config.Env}}", image], timeout: .seconds(60)))
        try inspect.check()
        let env = Self.environment(inspect.stdoutText)
        let binOld = env["PGBINOLD"] ?? "/usr/lib/postgresql/\(oldMajor)/bin"
        let binNew = env["PGBINNEW"] ?? "/usr/lib/postgresql/\(options.targetMajor)/bin"
        for (bin, tool, major) in [(binOld, "postgres", oldMajor), (binNew, "pg_upgrade", options.targetMajor)] {
            let version = try await runner.run(Command("docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--entrypoint", bin + "/" + tool, image, "--version"], timeout: .seconds(120)))
            let found = InvenTreeTasks.clientMajor(fromVersionLine: version.stdoutText)
            guard version.termination.isSuccess, found == major else {
                throw UpshiftError(
                    "the upgrade image \(image) has no PostgreSQL \(major) \(tool) at \(bin) (found: \(found.map(String.init) ?? "none"))",
                    hint: "use an image with both majors' binaries (PGBINOLD/PGBINNEW set), or --method dump")
            }
        }
        let data = DataDirectoryOperations(runner: runner, image: database.imageText)
        guard let owner = try await data.ownership(placement.mount, relativePath: oldRelative) else {
            throw UpshiftError("cannot read the owner of the old cluster in \(DataPlacement.describe(placement.mount))")
        }
        // initdb and pg_upgrade look their user up by uid: an upgrade image made for uid 999 cannot run on a
        // cluster owned by TimescaleDB's 70, TimescaleDB HA's 1000 or Bitnami's 1001.
        let user = try await runner.run(Command(
            "docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--user", "\(owner.uid):\(owner.gid)", "--entrypoint", "id", image, "-un"], timeout: .seconds(120)))
        guard user.termination.isSuccess else {
            throw UpshiftError.usage(
                "the upgrade image \(image) has no user with uid \(owner.uid), the owner of the old cluster; initdb and pg_upgrade refuse to run without one",
                hint: "pass --upgrade-image with both majors' binaries and a user \(owner.uid) (as \(database.imageText) has), or use --method dump; nothing was changed")
        }
        return UpgradeTool(image: image, binOld: binOld, binNew: binNew, uid: owner.uid, gid: owner.gid, runID: runID.rawValue)
    }

    /// `["A=1","B=2"]` from `docker image inspect` into a dictionary.
    static func environment(_ json: String) -> [String: String] {
        guard let data = json.data(using: .utf8), let list = try? JSONDecoder().decode([String]?.self, from: data) else { return [:] }
        var result: [String: String] = [:]
        for entry in list {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            result[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        return result
    }
}
