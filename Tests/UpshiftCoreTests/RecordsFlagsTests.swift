import Testing
@testable import UpshiftApps
@testable import UpshiftSupport

/// Long flags per InvenTree version, and options a version lacks refused by name before anything runs.
struct RecordsFlagsTests {
    @Test func exportAlwaysLongFlagsAndOverwrite() throws {
        let all = ExportRecordsOptions(includeTokens: true, excludePlugins: true, includeEmail: true, includeSSO: true, includePermissions: true, includeSession: true, verbose: true)
        let args = try RecordsFlags(version: InvenTreeVersion(1, 3, 0)).exportArguments(filename: "/d/x.json", options: all)
        #expect(args.prefix(4) == ["export-records", "--filename", "/d/x.json", "--overwrite"])
        #expect(Set(args.dropFirst(4)) == ["--include-email", "--include-permissions", "--include-tokens", "--exclude-plugins", "--include-sso", "--include-session", "--verbose"])
        #expect(args.allSatisfy { !$0.hasPrefix("-") || $0.hasPrefix("--") })
        #expect(try RecordsFlags(version: InvenTreeVersion(1, 0, 0)).exportArguments(filename: "f", options: ExportRecordsOptions()) == ["export-records", "--filename", "f", "--overwrite"])
    }

    @Test func exportOptionsTheVersionLacksAreRefused() throws {
        let v10 = RecordsFlags(version: InvenTreeVersion(1, 0, 0)), v017 = RecordsFlags(version: InvenTreeVersion(0, 17, 0))
        let v12 = RecordsFlags(version: InvenTreeVersion(1, 2, 0))
        for options in [ExportRecordsOptions(includeEmail: true), ExportRecordsOptions(verbose: true)] {
            do {
                _ = try v10.exportArguments(filename: "f", options: options)
                Issue.record("1.0 accepted \(options)")
            } catch let error as UpshiftError {
                #expect(error.exitCode == .usage && error.message.contains("InvenTree 1.0.0 has no export-records"))
            }
        }
        // --include-email arrived in 1.2.0 (#10854); 1.0 and 1.1 always include the log.
        #expect(try v12.exportArguments(filename: "f", options: ExportRecordsOptions(includeEmail: true)).last == "--include-email")
        do {
            _ = try v10.exportArguments(filename: "f", options: ExportRecordsOptions(includeEmail: true))
        } catch let error as UpshiftError {
            #expect(error.message.contains("(it exists from 1.2)") && error.hint?.contains("1.0 and 1.1 always export the email log") == true, "\(error)")
        }
        #expect(throws: UpshiftError.self) { try v017.exportArguments(filename: "f", options: ExportRecordsOptions(includeSession: true)) }
        #expect(try v10.exportArguments(filename: "f", options: ExportRecordsOptions(includeSession: true)).contains("--include-session"))
        #expect(try v017.exportArguments(filename: "f", options: ExportRecordsOptions(includeTokens: true, includeSSO: true)).suffix(2) == ["--include-tokens", "--include-sso"])
    }

    /// 0.14 to the last 0.17 write `[]` for --include-permissions: refused with the way out; 1.0 fixed it.
    @Test func knownEmptyPermissionsExportIsRefused() throws {
        for version in [InvenTreeVersion(0, 14, 0), InvenTreeVersion(0, 17, 6)] {
            do {
                _ = try RecordsFlags(version: version).exportArguments(filename: "f", options: ExportRecordsOptions(includePermissions: true))
                Issue.record("\(version) accepted --include-permissions")
            } catch let error as UpshiftError {
                #expect(error.exitCode == .usage && error.message.contains("writes an empty export ([])"), "\(error)")
                #expect(error.hint?.contains("export without --include-permissions") == true)
            }
        }
        #expect(try RecordsFlags(version: InvenTreeVersion(1, 0, 0)).exportArguments(filename: "f", options: ExportRecordsOptions(includePermissions: true)).last == "--include-permissions")
    }

    /// Before 0.14: no include/exclude options, and `--delete-temp` so no `<file>.tmp` is left behind.
    @Test func oldestReleasesGetTheirOwnFlags() throws {
        let v013 = RecordsFlags(version: InvenTreeVersion(0, 13, 5))
        #expect(try v013.exportArguments(filename: "f", options: ExportRecordsOptions()) == ["export-records", "--filename", "f", "--overwrite", "--delete-temp"])
        do {
            _ = try v013.exportArguments(filename: "f", options: ExportRecordsOptions(includeTokens: true))
            Issue.record("0.13 accepted --include-tokens")
        } catch let error as UpshiftError {
            #expect(error.message.contains("InvenTree 0.13.5 has no export-records --include-tokens (it exists from 0.14)"), "\(error)")
        }
        #expect(!(try RecordsFlags(version: InvenTreeVersion(0, 14, 0)).exportArguments(filename: "f", options: ExportRecordsOptions()).contains("--delete-temp")))
        #expect(throws: UpshiftError.self) { try InvenTreeReleases.requireSupported(InvenTreeVersion(0, 11, 2), for: "update") }
        try InvenTreeReleases.requireSupported(InvenTreeVersion(0, 12, 0), for: "update")
        // Every flag upshift builds is in the table (a missing entry would read as "never exists").
        for (task, flag) in [("update", "--skip-backup"), ("restore", "--db-file"), ("restore", "--skip-db"), ("restore", "--ignore-media"), ("import-records", "--clear")] {
            #expect(InvenTreeReleases.flag(task, flag) != nil, "\(task) \(flag)")
        }
    }

    @Test func importFlagsPerVersion() throws {
        let v13 = RecordsFlags(version: InvenTreeVersion(1, 3, 0)), v10 = RecordsFlags(version: InvenTreeVersion(1, 0, 0))
        let all = ImportRecordsOptions(clear: true, excludePlugins: true, ignoreNonexistent: true, skipMigrations: true, strict: true, verbose: true)
        #expect(try v13.importArguments(filename: "f", options: all) ==
                ["import-records", "--filename", "f", "--clear", "--strict", "--exclude-plugins", "--ignore-nonexistent", "--skip-migrations", "--verbose"])
        #expect(try v10.importArguments(filename: "f", options: ImportRecordsOptions(clear: true)) == ["import-records", "--filename", "f", "--clear"])
        do {
            _ = try v10.importArguments(filename: "f", options: ImportRecordsOptions(strict: true))
            Issue.record("1.0 accepted --strict")
        } catch let error as UpshiftError {
            #expect(error.message.contains("--strict") && error.message.contains("1.3"))
        }
        #expect(v13.importStagesPlugins && !v10.importStagesPlugins && v13.hasMetadataHeader && !v10.hasMetadataHeader)
    }
}
