import Testing
@testable import UpshiftCore

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
        for options in [ExportRecordsOptions(includeEmail: true), ExportRecordsOptions(verbose: true)] {
            do {
                _ = try v10.exportArguments(filename: "f", options: options)
                Issue.record("1.0 accepted \(options)")
            } catch let error as UpshiftError {
                #expect(error.exitCode == .usage && error.message.contains("InvenTree 1.0.0 has no export-records"))
            }
        }
        #expect(throws: UpshiftError.self) { try v017.exportArguments(filename: "f", options: ExportRecordsOptions(includeSession: true)) }
        #expect(try v10.exportArguments(filename: "f", options: ExportRecordsOptions(includeSession: true)).contains("--include-session"))
        #expect(try v017.exportArguments(filename: "f", options: ExportRecordsOptions(includeTokens: true, includeSSO: true)).suffix(2) == ["--include-tokens", "--include-sso"])
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
