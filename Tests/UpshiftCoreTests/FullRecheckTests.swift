import Testing
@testable import UpshiftCore
import UpshiftPostgres

/// The recheck after the window compares what a snapshot can vouch for: tables (rows and checksums),
/// databases, locale and extensions. Sequences and roles move outside any snapshot while the application
/// runs, so a difference there must not raise the alarm; a table's must.
struct FullRecheckTests {
    static func fingerprint(rows: Int = 3, checksum: String = "abc", sequence: Int? = 7, login: Bool = true) -> Fingerprint {
        Fingerprint(
            serverVersion: "18.1", serverMajor: 18, dataChecksums: true,
            roles: [RoleFingerprint(name: "app", superuser: false, canLogin: login, passwordKind: .scram)],
            databases: [DatabaseFingerprint(
                name: "app", encoding: "UTF8", collate: "en_US.utf8", ctype: "en_US.utf8", extensions: [],
                tables: [TableFingerprint(schema: "public", name: "part", rowCount: rows, checksum: checksum)],
                sequences: [SequenceFingerprint(schema: "public", name: "part_id_seq", lastValue: sequence)])])
    }

    @Test func sequencesAndRolesMovedByTheApplicationAreNotDifferences() {
        let before = FullRecheck.tablesOnly(Self.fingerprint())
        let after = FullRecheck.tablesOnly(Self.fingerprint(sequence: 9, login: false))
        #expect(before.diff(against: after).isEmpty)
        // ...while the untrimmed comparison does see them.
        #expect(Self.fingerprint().diff(against: Self.fingerprint(sequence: 9, login: false)).count == 2)
    }

    @Test func aTableThatDiffersIsReported() {
        let before = FullRecheck.tablesOnly(Self.fingerprint())
        #expect(before.diff(against: FullRecheck.tablesOnly(Self.fingerprint(checksum: "abd"))) == [
            "database app: table public.part: content differs (same 3 rows, checksum abc -> abd)"])
        #expect(before.diff(against: FullRecheck.tablesOnly(Self.fingerprint(rows: 4))) == ["database app: table public.part: rows 3 -> 4"])
    }
}

extension FullRecheckTests {
    /// Which tables the recheck asks about, and what is left once the ones written after the window are out.
    @Test func differingTablesAndLeavingThemOut() {
        let before = Self.fingerprint()
        var after = Self.fingerprint(checksum: "abd")
        after.databases[0].tables.append(TableFingerprint(schema: "public", name: "job", rowCount: 1, checksum: "j"))
        let differing = FullRecheck.differingTables(FullRecheck.tablesOnly(before), FullRecheck.tablesOnly(after))
        #expect(differing == ["app": ["public.part", "public.job"]])
        #expect(FullRecheck.differingTables(before, before).isEmpty)
        // Leaving out only the new table still shows the changed one; leaving out both leaves no difference.
        let partial = FullRecheck.leavingOut(["app": ["public.job"]], FullRecheck.tablesOnly(before)).diff(against: FullRecheck.leavingOut(["app": ["public.job"]], FullRecheck.tablesOnly(after)))
        #expect(partial == ["database app: table public.part: content differs (same 3 rows, checksum abc -> abd)"])
        #expect(FullRecheck.leavingOut(differing, before).diff(against: FullRecheck.leavingOut(differing, after)).isEmpty)
    }
}
