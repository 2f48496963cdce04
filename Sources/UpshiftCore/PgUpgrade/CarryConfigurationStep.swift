import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Gives the new cluster the old one's configuration: `pg_hba.conf` and `pg_ident.conf` as they were (the
/// new cluster's initdb copy lacks the image's `host all all all` line — tianon/docker-postgres-upgrade#1,
/// "no pg_hba.conf entry for host"), and the custom settings of `postgresql.conf` and
/// `postgresql.auto.conf` that the new major still knows (see `ConfigurationCarry`).
///
/// Three execs in the upgrade container, as the data owner: one `tar` reads the six files of both clusters,
/// one `postgres --describe-config` lists the new major's parameters, one `tar` writes the four files of
/// the new cluster. Only the new cluster changes. The last user of the container, so it removes it.
struct CarryConfigurationStep: PlanStep {
    var upgrade: PgUpgradeRun

    static let verbatim = ["pg_hba.conf", "pg_ident.conf"]
    static let merged = ["postgresql.conf", "postgresql.auto.conf"]

    func planned() -> PlannedStep {
        PlannedStep(
            id: "carry-config", title: "Carry pg_hba.conf, pg_ident.conf and custom settings into the new cluster", kind: "pg.carry-config",
            mutates: true, compensation: nil,
            notes: ["settings unknown to PostgreSQL \(upgrade.world.context.options.targetMajor) and paths into the old cluster are dropped and listed"])
    }

    func path(_ relativeDirectory: String, _ file: String) -> String {
        relativeDirectory.isEmpty ? file : relativeDirectory + "/" + file
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let oldFiles = (Self.verbatim + Self.merged).map { path(upgrade.oldRelative, $0) }
        let newFiles = Self.merged.map { path(upgrade.newRelative, $0) }
        let read = try await upgrade.output("tar", ["-c", "-f", "-", "-C", DataDirectoryOperations.mountPoint] + oldFiles + newFiles)
        let files = TarArchive.read(read.standardOutput)
        for required in [oldFiles[0], newFiles[0]] where files[required] == nil {
            throw UpshiftError("cannot read \(required) through the upgrade image: \(read.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let describe = try await upgrade.run(upgrade.tool.binNew + "/postgres", ["--describe-config"], what: "postgres --describe-config")
        let known = ConfigurationCarry.knownNames(describeConfig: describe.stdoutText)

        var entries: [TarArchive.Entry] = []
        for name in Self.verbatim {
            guard let old = files[path(upgrade.oldRelative, name)] else { continue }
            entries.append(TarArchive.Entry(name: name, contents: old))
        }
        var carried: [String] = []
        var dropped: [String] = []
        for name in Self.merged {
            guard let old = files[path(upgrade.oldRelative, name)] else { continue }
            let new = String(decoding: files[path(upgrade.newRelative, name)] ?? Data(), as: UTF8.self)
            let result = ConfigurationCarry.carry(old: String(decoding: old, as: UTF8.self), new: new, known: known, label: "the PostgreSQL \(upgrade.world.context.oldMajor) cluster (run \(context.runID))")
            carried += result.carried
            dropped += result.dropped
            if !result.appendix.isEmpty { entries.append(TarArchive.Entry(name: name, contents: Data((new + result.appendix).utf8))) }
        }
        try await upgrade.run("tar", ["-x", "-f", "-", "-C", upgrade.newPath], what: "writing the configuration into the new cluster", stdin: TarArchive.write(entries))
        var summary = "pg_hba.conf and pg_ident.conf copied; settings carried: \(carried.isEmpty ? "none" : carried.joined(separator: ", "))"
        if !dropped.isEmpty { summary += "; dropped: \(dropped.joined(separator: ", "))" }
        // The last step that needs the upgrade container.
        if let warning = await upgrade.worker.remove() {
            context.progress(warning)
            summary += "; \(warning)"
        }
        return StepOutcome(summary: summary)
    }
}
