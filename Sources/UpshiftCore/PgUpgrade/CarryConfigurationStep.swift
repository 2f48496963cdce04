import Foundation

/// Gives the new cluster the old one's configuration: `pg_hba.conf` and `pg_ident.conf` as they were (the
/// new cluster's initdb copy lacks the image's `host all all all` line — tianon/docker-postgres-upgrade#1,
/// "no pg_hba.conf entry for host"), and the custom settings of `postgresql.conf` and
/// `postgresql.auto.conf` that the new major still knows (see `ConfigurationCarry`). Files are read and
/// written by the upgrade image as the data owner; only the new cluster changes.
struct CarryConfigurationStep: StepAction {
    var upgrade: PgUpgradeRun

    static let verbatim = ["pg_hba.conf", "pg_ident.conf"]
    static let merged = ["postgresql.conf", "postgresql.auto.conf"]

    static func planned(_ upgrade: PgUpgradeRun) -> PlannedStep {
        PlannedStep(
            id: "carry-config", title: "Carry pg_hba.conf, pg_ident.conf and custom settings into the new cluster", kind: "pg.carry-config",
            mutates: true, compensation: nil,
            notes: ["settings unknown to PostgreSQL \(upgrade.world.context.options.targetMajor) and paths into the old cluster are dropped and listed"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        for name in Self.verbatim {
            let old = try await read(upgrade.oldPath + "/" + name)
            try await write(old ?? "", to: upgrade.newPath + "/" + name)
        }
        let describe = try await upgrade.run(upgrade.tool.binNew + "/postgres", ["--describe-config"], what: "postgres --describe-config")
        let known = ConfigurationCarry.knownNames(describeConfig: describe.stdoutText)
        var carried: [String] = []
        var dropped: [String] = []
        for name in Self.merged {
            guard let old = try await read(upgrade.oldPath + "/" + name) else { continue }
            let new = try await read(upgrade.newPath + "/" + name) ?? ""
            let result = ConfigurationCarry.carry(old: old, new: new, known: known, label: "the PostgreSQL \(upgrade.world.context.oldMajor) cluster (run \(context.runID))")
            carried += result.carried
            dropped += result.dropped
            if !result.appendix.isEmpty { try await write(new + result.appendix, to: upgrade.newPath + "/" + name) }
        }
        var summary = "pg_hba.conf and pg_ident.conf copied; settings carried: \(carried.isEmpty ? "none" : carried.joined(separator: ", "))"
        if !dropped.isEmpty { summary += "; dropped: \(dropped.joined(separator: ", "))" }
        return StepOutcome(summary: summary)
    }

    /// A file's text, `nil` when it does not exist.
    func read(_ path: String) async throws -> String? {
        let command = upgrade.tool.command(upgrade.mount, tool: "cat", [path], environment: [:], timeout: .seconds(120))
        let result = try await upgrade.world.runner.run(command)
        if result.termination.isSuccess { return result.stdoutText }
        if result.stderrText.contains("No such file") { return nil }
        throw UpshiftError("reading \(path) in the upgrade container failed: \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    func write(_ text: String, to path: String) async throws {
        var command = upgrade.tool.command(upgrade.mount, tool: "tee", [path], environment: [:], stdin: true, timeout: .seconds(120))
        command.standardInput = Data(text.utf8)
        let result = try await upgrade.world.runner.run(command, stdout: .discard, onLine: nil)
        guard result.termination.isSuccess else {
            throw UpshiftError("writing \(path) in the upgrade container failed: \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
