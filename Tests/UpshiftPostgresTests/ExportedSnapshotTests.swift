import Foundation
import Testing
import UpshiftPostgres
import UpshiftTestSupport

/// The proof behind preparing online: a fingerprint read from an exported snapshot describes that instant,
/// and `CommitsSinceSnapshot` tells whether anything committed after it, on real servers.
@Suite(.serialized)
struct ExportedSnapshotTests {
    @Test(.enabled(if: LocalPostgres.isAvailable(15), Comment(rawValue: LocalPostgres.unavailableReason(15))))
    func snapshotAndCommits15() async throws { try await snapshotAndCommits(major: 15) }

    @Test(.enabled(if: LocalPostgres.isAvailable(18), Comment(rawValue: LocalPostgres.unavailableReason(18))))
    func snapshotAndCommits18() async throws { try await snapshotAndCommits(major: 18) }

    func snapshotAndCommits(major: Int) async throws {
        try await LocalPostgres.with(major: major) { pg in
            let writer = try pg.connect()
            try writer.execute("CREATE TABLE t (v int); INSERT INTO t SELECT generate_series(1, 100); CREATE SEQUENCE s")

            // Nothing after the snapshot: current, and the snapshot's fingerprint is the live one.
            let quiet = try ExportedSnapshot(pg.parameters())
            let none = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: quiet.visibility))
            #expect(none.isCurrent)
            #expect(none.committed == 0)
            #expect(try Fingerprinter.capture(pg.parameters(), snapshots: ["postgres": quiet.id]) == (try Fingerprinter.capture(pg.parameters())))
            quiet.release()

            // A committed write after the snapshot: not current; the snapshot still reads the old rows.
            let snapshot = try ExportedSnapshot(pg.parameters())
            let atSnapshot = try Fingerprinter.capture(pg.parameters(), snapshots: ["postgres": snapshot.id])
            try writer.execute("BEGIN; INSERT INTO t VALUES (101); ROLLBACK")
            let afterAbort = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: snapshot.visibility))
            #expect(afterAbort.isCurrent, "an aborted transaction changed nothing")
            #expect(afterAbort.examined >= 1)
            try writer.execute("INSERT INTO t VALUES (102)")
            let afterCommit = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: snapshot.visibility))
            #expect(!afterCommit.isCurrent)
            #expect(afterCommit.committed == 1)
            let stillThen = try Fingerprinter.capture(pg.parameters(), snapshots: ["postgres": snapshot.id])
            #expect(stillThen == atSnapshot, "the exported snapshot keeps reading the instant it was taken")
            let live = try Fingerprinter.capture(pg.parameters())
            #expect(!atSnapshot.diff(against: live).isEmpty)
            snapshot.release()

            // A transaction running when the snapshot is taken (its id in xip) that commits afterwards.
            let open = try pg.connect()
            try open.execute("BEGIN; INSERT INTO t VALUES (103)")
            let during = try ExportedSnapshot(pg.parameters())
            let whileOpen = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: during.visibility))
            #expect(!whileOpen.isCurrent, "a transaction still running counts as a change")
            #expect(whileOpen.unresolved == 1)
            try open.execute("COMMIT")
            let committedLater = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: during.visibility))
            #expect(committedLater.committed == 1)
            during.release()

            // Globals (roles, their passwords and settings) are read after the snapshot, outside it: the
            // window reuses them only when no transaction since. Each kind of change to them takes one.
            for change in ["CREATE ROLE upshift_late_role", "ALTER ROLE upshift_late_role SET work_mem = '5MB'",
                           "ALTER ROLE upshift_late_role PASSWORD NULL", "DROP ROLE upshift_late_role"] {
                let before = try ExportedSnapshot(pg.parameters())
                try writer.execute(change)
                let seen = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: before.visibility))
                #expect(!seen.isCurrent && seen.committed == 1, "\(change) was not seen as a commit")
                before.release()
            }

            // A sequence moves without a transaction id (nextval WAL-logs, and takes one, only every 32 values):
            // the commit check cannot see it, the sequence read does.
            _ = try writer.query("SELECT nextval('s')")
            let beforeNextval = try ExportedSnapshot(pg.parameters())
            let sequencesBefore = try Fingerprinter.sequences(pg.parameters())
            _ = try writer.query("SELECT nextval('s')")
            let noCommit = try #require(try CommitsSinceSnapshot.read(pg.connect(), visibility: beforeNextval.visibility))
            #expect(noCommit.isCurrent)
            #expect(try Fingerprinter.sequences(pg.parameters()) != sequencesBefore)
            beforeNextval.release()

            // A released snapshot cannot be imported any more; malformed ids never reach SQL.
            #expect(throws: PostgresError.self) { try Fingerprinter.capture(pg.parameters(), snapshots: ["postgres": beforeNextval.id]) }
            #expect(!ExportedSnapshot.isValidID("1'; DROP TABLE t; --"))
            #expect(ExportedSnapshot.isValidID(beforeNextval.id))
            #expect(throws: PostgresError.self) { try Fingerprinter.capture(pg.parameters(), snapshots: ["other": beforeNextval.id]) }
        }
    }
}
