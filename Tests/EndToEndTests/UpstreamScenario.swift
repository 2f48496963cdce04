import Foundation
import UpshiftPostgres
import UpshiftTestSupport

/// What a user of an upstream project does with upshift, checked from outside it: `status`, `doctor`,
/// `pg-upgrade --dry-run`, `pg-upgrade --yes`, `rollback --yes` — or, where upshift must refuse, the refusal's
/// what, where and what to do, and that nothing changed.
enum UpstreamScenario {
    static func run(_ project: UpstreamProject, checks: UpstreamChecks, log: UpstreamLog) async throws {
        try await log.timed("upstream \(project.folder)") {
            try await UpstreamDeployment.with(project) { d, leftovers in
                var outputs: [(String, E2EOutput)] = []
                let context = Context(d: d, project: project, checks: checks, log: log, leftovers: leftovers)
                switch project.expectation {
                case .refused(let mentioning):
                    try await expectRefused(context, mentioning: mentioning, outputs: &outputs)
                case .upgrades(let diff):
                    try await upgradeAndRollBack(context, composeDiff: diff, outputs: &outputs)
                case .refusedThenUpgradesAfterTheWayOut(let mentioning, let diff):
                    let hint = try await expectUpgradeRefused(context, mentioning: mentioning, outputs: &outputs)
                    try await UpstreamDeployment.followImageVolumeWayOut(d, project, hint: hint, checks: checks)
                    try await upgradeAndRollBack(context, composeDiff: diff, outputs: &outputs)
                }
                // No password in anything upshift printed (unless it is also a name that is printed: paperless's
                // and Immich's example passwords are their user names).
                if let password = project.password, !([project.superuser, "postgres"] + project.databases).contains(password) {
                    for (label, output) in outputs {
                        checks.expect(!(output.stdout + output.stderr).contains(password), "the password appears in the output of \(label)")
                    }
                }
            }
        }
    }

    struct Context {
        var d: E2EDeployment
        var project: UpstreamProject
        var checks: UpstreamChecks
        var log: UpstreamLog
        var leftovers: UpstreamDeployment.Leftovers
    }

    // MARK: - Upgrade and rollback

    static func upgradeAndRollBack(_ c: Context, composeDiff: [String], outputs: inout [(String, E2EOutput)]) async throws {
        let (d, project, checks) = (c.d, c.project, c.checks)
        let baseline = try await UpstreamBaseline.take(d, project)
        let services = try await E2EUpgrade.runningServices(d)
        checks.expect(baseline.fingerprint.serverMajor == 15, "the server before the upgrade is \(baseline.fingerprint.serverMajor)")

        // What a user looks at first.
        let status = try await d.upshift(["status"])
        outputs.append(("status", status))
        checks.expect(status.exitCode == 0 && status.stdout.contains("database   \(project.dbService)") && status.stdout.contains("on disk    PostgreSQL 15 (PG_VERSION 15)"),
                      "status: \(status)")
        let doctor = try await d.upshift(["doctor"], environment: ["NO_COLOR": "1"])
        outputs.append(("doctor", doctor))
        checks.expect(doctor.exitCode == 0 && doctor.stdout.contains("ready: nothing failed"), "doctor: \(doctor)")

        // The dry run plans and changes nothing.
        let dryRun = try await d.upshift(["pg-upgrade", "--to", "18", "--dry-run"])
        outputs.append(("pg-upgrade --dry-run", dryRun))
        checks.expect(dryRun.exitCode == 0 && dryRun.stdout.contains("Start the stack on PostgreSQL 18"), "dry run: \(dryRun)")
        checks.expect(try UpstreamBaseline.files(d) == baseline.files, "the dry run changed a file")

        if !project.keptRunning.isEmpty {
            checks.expect(dryRun.stdout.contains("kept running through the window (no database access): \(project.keptRunning.joined(separator: ", "))"),
                          "the plan does not keep \(project.keptRunning) running: \(dryRun.stdout)")
        }
        let keptBefore = try await startTimes(d, project.keptRunning)

        let upgrade = try await c.log.timed("  \(project.folder): pg-upgrade --to 18") {
            try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
        }
        outputs.append(("pg-upgrade", upgrade))
        guard upgrade.exitCode == 0 else { throw E2EFailure("pg-upgrade: \(upgrade)") }
        await c.leftovers.record(d, project)
        let downtime = (upgrade.stdout + upgrade.stderr).split(separator: "\n").first { $0.contains("application downtime") }
        c.log.add("UPSTREAM \(project.folder): \(E2EUpgrade.totalRows(baseline.fingerprint)) rows; \(downtime.map { $0.trimmingCharacters(in: .whitespaces) } ?? "no downtime line")")

        // On 18: the same rows, the compose file changed by exactly the expected lines, everything running.
        checks.expect(try await E2EUpgrade.serverMajor(d, service: project.dbService) == 18, "not on PostgreSQL 18 after pg-upgrade")
        try await baseline.expectSameData(d, project, "after pg-upgrade", checks: checks)
        let composeBefore = String(decoding: baseline.files["docker-compose.yml"] ?? Data(), as: UTF8.self)
        let diff = E2EUpgrade.diffBodies(E2EUpgrade.lineDiff(composeBefore, try d.read("docker-compose.yml")))
        c.log.add("--- diff \(project.folder) docker-compose.yml\n" + diff.joined(separator: "\n"))
        checks.expect(Set(diff) == Set(composeDiff), "compose diff after pg-upgrade: \(diff)")
        checks.expect(try UpstreamBaseline.files(d).filter { $0.key != "docker-compose.yml" } == baseline.files.filter { $0.key != "docker-compose.yml" },
                      "pg-upgrade changed a file other than docker-compose.yml")
        try await E2EUpgrade.waitRunning(d, services)

        let rollback = try await c.log.timed("  \(project.folder): rollback") { try await d.upshift(["rollback", "--yes"]) }
        outputs.append(("rollback", rollback))
        guard rollback.exitCode == 0 else { throw E2EFailure("rollback: \(rollback)") }
        checks.expect(try UpstreamBaseline.files(d) == baseline.files, "the files are not as before the upgrade")
        checks.expect(try await E2EUpgrade.serverMajor(d, service: project.dbService) == 15, "not on PostgreSQL 15 after the rollback")
        try await baseline.expectSameData(d, project, "after rollback", checks: checks)
        try await E2EUpgrade.waitRunning(d, services)
        checks.expect(E2EUpgrade.runIDs(d).count == 1, "runs \(E2EUpgrade.runIDs(d))")
        // The services that are no database clients ran through both windows: the same containers, never restarted.
        checks.expect(try await startTimes(d, project.keptRunning) == keptBefore, "\(project.keptRunning) were stopped or restarted")
    }

    /// `service -> container id and start time` of running services.
    static func startTimes(_ d: E2EDeployment, _ services: [String]) async throws -> [String: String] {
        var times: [String: String] = [:]
        for service in services {
            let id = try await d.containerID(service)
            let state = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", id]).stdout
            times[service] = id + " " + state.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return times
    }

    // MARK: - Refusals

    /// Immich: status describes the custom image; pg-upgrade without `--image` refuses (64) before touching
    /// anything, naming the service, its image and the way out.
    static func expectRefused(_ c: Context, mentioning: [String], outputs: inout [(String, E2EOutput)]) async throws {
        let (d, project, checks) = (c.d, c.project, c.checks)
        let baseline = try await UpstreamBaseline.take(d, project)
        let status = try await d.upshift(["status"])
        outputs.append(("status", status))
        checks.expect(status.exitCode == 0 && status.stdout.contains("ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0"), "status: \(status)")
        for arguments in [["pg-upgrade", "--to", "18", "--yes"], ["--db-service", project.dbService, "pg-upgrade", "--to", "18", "--yes"]] {
            let result = try await d.upshift(arguments)
            outputs.append((arguments.joined(separator: " "), result))
            checks.expect(result.exitCode == 64, "\(arguments): \(result)")
            for text in mentioning {
                checks.expect(result.stderr.contains(text), "\(arguments): no \"\(text)\" in \(result.stderr)")
            }
            checks.expect(!result.stderr.contains("name another with --db-service"), "\(arguments): \(result.stderr)")
        }
        try await baseline.expectUntouched(d, project, checks: checks)
    }

    /// paperless-ngx with 15: status shows where the cluster really is, doctor fails data-mount, pg-upgrade
    /// refuses (64) with the way out, and nothing changed. Returns pg-upgrade's hint.
    static func expectUpgradeRefused(_ c: Context, mentioning: [String], outputs: inout [(String, E2EOutput)]) async throws -> String {
        let (d, project, checks) = (c.d, c.project, c.checks)
        let baseline = try await UpstreamBaseline.take(d, project)
        let anonymous = try await UpstreamDeployment.anonymousVolume(d, project, at: "/var/lib/postgresql/data")

        let status = try await d.upshift(["status"])
        outputs.append(("status", status))
        checks.expect(status.exitCode == 0 && status.stdout.contains("in anonymous volume \(anonymous) at /var/lib/postgresql/data, the image's own VOLUME"),
                      "status: \(status.stdout)")
        checks.expect(!status.stdout.contains("not initialised yet"), "status: \(status.stdout)")
        let doctor = try await d.upshift(["doctor"], environment: ["NO_COLOR": "1"])
        outputs.append(("doctor", doctor))
        checks.expect(doctor.exitCode == 1 && doctor.stdout.contains("FAIL  data-mount") && doctor.stdout.contains("anonymous volume \(anonymous)"), "doctor: \(doctor.stdout)")
        checks.expect(!doctor.stdout.contains("start the stack once"), "doctor: \(doctor.stdout)")

        let upgrade = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
        outputs.append(("pg-upgrade (refused)", upgrade))
        checks.expect(upgrade.exitCode == 64, "pg-upgrade: \(upgrade)")
        for text in mentioning + [anonymous, "\(d.projectName)_pgdata"] {
            checks.expect(upgrade.stderr.contains(text), "pg-upgrade: no \"\(text)\" in \(upgrade.stderr)")
        }
        try await baseline.expectUntouched(d, project, checks: checks)
        guard let hint = upgrade.stderr.split(separator: "\n").first(where: { $0.hasPrefix("hint: ") }) else {
            throw E2EFailure("pg-upgrade refused without a hint: \(upgrade.stderr)")
        }
        return String(hint.dropFirst("hint: ".count))
    }
}
