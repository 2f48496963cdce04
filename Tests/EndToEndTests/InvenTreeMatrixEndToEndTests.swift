import Foundation
import Testing
import UpshiftApps
import UpshiftTestSupport

/// Issue 18's matrix: every stand-in InvenTree tag × {`pg-upgrade --method invoke` 15 → 18 and rollback,
/// `update` to the next tag and rollback, `export` + `import --clear`, `transfer --include-media`}. Each passes
/// with counts checked by the test (parts, stock items, the records each side holds), or is refused before
/// any change with the version reason. The test engine has no package index, so every InvenTree task that
/// would pip-install runs the offline path. A matrix too large for CI: `scripts/test --full` runs it; CI has
/// 0.17.0 and 1.0.0 through the update, invoke-upgrade, transfer and releases suites.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct InvenTreeMatrixEndToEndTests {
    static let tags = ["0.12.0", "0.17.0", "1.0.0", "1.2.0", "1.3.0"]
    static let next = ["0.12.0": "0.17.0", "0.17.0": "1.0.0", "1.0.0": "1.2.0", "1.2.0": "1.3.0"]
    /// Where `pg-upgrade --method invoke` must refuse, and the reason it must give.
    static let invokeRefusal = ["0.12.0": ("takes no options (--db-file arrived in 0.15)", "restore cannot name its file before 0.15"),
                                "0.17.0": ("ships pg_dump 15, older than PostgreSQL 18", "client 15 < 18")]

    @Test(.enabled(if: E2EEnvironment.full, "scripts/test --full only"), arguments: tags)
    func everyFlowOnOneRelease(_ tag: String) async throws {
        try await E2EUpgrade.timed("inventree matrix \(tag)") {
            try await E2EDeployment.with(sample: "inventree", namePrefix: "matrix-src") { source in
                try await E2EDeployment.with(sample: "inventree", namePrefix: "matrix-dst") { target in
                    try await Self.run(tag, source: source, target: target)
                }
            }
        }
    }

    static func counts(_ d: E2EDeployment) async throws -> String {
        try await InvenTreeE2E.psql(d, "SELECT (SELECT count(*) FROM part_part) || '/' || (SELECT count(*) FROM stock_stockitem) || '/' || (SELECT count(*) FROM part_partcategory)")
    }

    static func run(_ tag: String, source: E2EDeployment, target: E2EDeployment) async throws {
        var row: [String] = []
        for d in [source, target] { try d.setEnv("INVENTREE_TAG", tag) }
        // The seed installs the sample plugin on the source; the target gets it too before its server first
        // starts (the upstream guide: same plugins on both sides), or the import rightly fails on its rows.
        try FileManager.default.createDirectory(at: target.url("inventree-data"), withIntermediateDirectories: true)
        try "# InvenTree Plugins (uses PIP framework to install)\ninventree-barcodeplus\n".write(to: target.url("inventree-data/plugins.txt"), atomically: true, encoding: .utf8)
        async let a: Void = source.up()
        async let b: Void = target.up()
        _ = try await (a, b)
        try await InvenTreeE2E.seed(source, ["--megabytes", "1"])
        let seeded = try await counts(source)

        // pg-upgrade --method invoke: the image's client must be 18 (0.17.0 ships 15: refused, nothing changed).
        let envBefore = try Data(contentsOf: source.url(".env")), composeBefore = try Data(contentsOf: source.url("docker-compose.yml"))
        let invoke = try await E2EUpgrade.timed("  \(tag): pg-upgrade --method invoke") {
            try await source.upshift(["pg-upgrade", "--to", "18", "--method", "invoke", "--yes"])
        }
        if let (reason, label) = invokeRefusal[tag] {
            #expect(invoke.exitCode == 64, "\(invoke)")
            #expect(invoke.stderr.contains(reason), "\(invoke.stderr.suffix(1500))")
            let unchanged = try Data(contentsOf: source.url(".env")) == envBefore && Data(contentsOf: source.url("docker-compose.yml")) == composeBefore
            #expect(unchanged)
            row.append(invoke.exitCode == 64 && unchanged ? "invoke: refused before any change (\(label))" : "invoke: FAILED")
        } else {
            #expect(invoke.exitCode == 0, "\(invoke)")
            // The plan's note (stderr keeps only a few lines per step when it is not a terminal).
            let plan = (try? source.read(".upshift/runs/\(E2EUpgrade.runIDs(source).last ?? "-")/plan.json")) ?? ""
            #expect(plan.contains("package index pypi.org unreachable"), "\(plan.suffix(3000))")
            #expect(try await E2EUpgrade.serverMajor(source, service: "inventree-db") == 18)
            #expect(try await counts(source) == seeded)
            let on18 = try await counts(source)
            let back = try await source.upshift(["rollback", "--yes"])
            #expect(back.exitCode == 0, "\(back)")
            #expect(try await E2EUpgrade.serverMajor(source, service: "inventree-db") == 15)
            let onBack = try await counts(source)
            #expect(onBack == seeded)
            row.append(invoke.exitCode == 0 && back.exitCode == 0 && on18 == seeded && onBack == seeded ? "invoke: 15 -> 18 and back, counts equal" : "invoke: FAILED")
        }
        #expect(try await counts(source) == seeded)

        // export, then import --clear into the other installation of the same release.
        let file = source.path + "/matrix-records.json"
        let export = try await source.upshift(["export", "-f", file])
        #expect(export.exitCode == 0, "\(export)")
        // No temporary file left beside the export (up to 0.13 only --delete-temp removes it).
        let leftovers = (FileManager.default.enumerator(atPath: source.url("inventree-data").path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "left behind: \(leftovers)")
        let imported = try await E2EUpgrade.timed("  \(tag): import") { try await target.upshift(["import", "-f", file, "--clear", "--yes"]) }
        #expect(imported.exitCode == 0, "\(imported)")
        #expect(imported.stderr.contains("records: equal"), "\(imported.stderr.suffix(2000))")
        let afterImport = try await counts(target)
        #expect(afterImport == seeded)
        row.append(export.exitCode == 0 && imported.exitCode == 0 && afterImport == seeded ? "export/import: counts equal" : "export/import: FAILED")

        // --include-email: from 1.2 (without it the email log is left out); 1.0 and 1.1 always export it.
        let plainHasEmail = try String(contentsOfFile: file, encoding: .utf8).contains("\"common.emailmessage\"")
        let emailFile = source.path + "/matrix-email.json"
        let withEmail = try await source.upshift(["export", "-f", emailFile, "--include-email"])
        let versionNumber = try #require(InvenTreeVersion(parsing: tag))
        if versionNumber.atLeast(1, 2) {
            let emailText = (try? String(contentsOfFile: emailFile, encoding: .utf8)) ?? ""
            let hasEmail = withEmail.exitCode == 0 && emailText.contains("\"common.emailmessage\"")
            #expect(hasEmail && !plainHasEmail, "\(withEmail)")
            row.append(hasEmail && !plainHasEmail ? "--include-email: adds the email log" : "--include-email: FAILED")
        } else {
            #expect(withEmail.exitCode == 64 && withEmail.stderr.contains("(it exists from 1.2)"), "\(withEmail)")
            #expect(plainHasEmail == versionNumber.atLeast(1, 0))
            row.append(withEmail.exitCode == 64 ? "--include-email: refused (\(versionNumber.atLeast(1, 0) ? "always exported" : "no email log"))" : "--include-email: FAILED")
        }

        // transfer --include-media over the imported target (it clears it first).
        let transfer = try await E2EUpgrade.timed("  \(tag): transfer") { try await source.upshift(["transfer", "--to", target.path, "--include-media", "--yes"]) }
        #expect(transfer.exitCode == 0, "\(transfer)")
        #expect(transfer.stderr.contains("records: equal") && transfer.stderr.contains("files identical"), "\(transfer.stderr.suffix(2000))")
        let afterTransfer = try await counts(target)
        #expect(afterTransfer == seeded)
        row.append(transfer.exitCode == 0 && afterTransfer == seeded ? "transfer: counts and media equal" : "transfer: FAILED")

        // update to the next stand-in tag, then rollback.
        if let next = next[tag] {
            let updated = try await E2EUpgrade.timed("  \(tag): update --to \(next)") { try await source.upshift(["update", "--to", next, "--yes"]) }
            #expect(updated.exitCode == 0, "\(updated)")
            #expect(updated.stderr.contains("invoke migrate"), "\(updated.stderr.suffix(2000))")
            let nowVersion = try await InvenTreeE2E.invokeVersion(source)
            #expect(nowVersion == next)
            let onNext = try await counts(source)
            #expect(onNext == seeded)
            let back = try await source.upshift(["rollback", "--yes"])
            #expect(back.exitCode == 0, "\(back)")
            let backVersion = try await InvenTreeE2E.invokeVersion(source)
            #expect(backVersion == tag)
            let onBack = try await counts(source)
            #expect(onBack == seeded)
            let ok = updated.exitCode == 0 && back.exitCode == 0 && nowVersion == next && backVersion == tag && onNext == seeded && onBack == seeded
            row.append(ok ? "update -> \(next) and back: counts equal" : "update: FAILED")
        } else {
            row.append("update: no newer stand-in tag")
        }
        print("MATRIX | \(tag) | " + row.joined(separator: " | ") + " |")
    }
}
