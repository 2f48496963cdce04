import Foundation
import Synchronization
import Testing
import UpshiftTestSupport

/// Issue 16, the media-undo guard, on two copies of `compose/inventree` (whose data folder is also the
/// database's mount, holding the cluster `pgdb`):
/// 1. `transfer --include-media` is refused (exit 64, the target identical, no run folder) when the target's
///    INVENTREE_MEDIA_ROOT is the data directory, a link to it, or `/` — each named with the reason;
/// 2. the guard inside the undo script: a transfer killed (-9) after its media copy, INVENTREE_MEDIA_ROOT then
///    pointed at the data directory, `upshift rollback` stops at the media undo (exit 2) with the guard's
///    reason and nothing in the data folder touched — without the guard, `find . -mindepth 1 -delete` would
///    have emptied it, cluster and all. With the variable put back, the rollback completes: media and
///    database as before the transfer.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct MediaRootGuardEndToEndTests {
    @Test func transferRefusesADangerousMediaRootAndItsUndoRefusesOneSetLater() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "mroot-src") { source in
            try await E2EDeployment.with(sample: "inventree", namePrefix: "mroot-dst") { target in
                try await run(source: source, target: target)
            }
        }
    }

    func run(source: E2EDeployment, target: E2EDeployment) async throws {
        var times: [String] = []
        func timed<T>(_ label: String, _ body: () async throws -> T) async rethrows -> T {
            let start = ContinuousClock.now
            let value = try await body()
            times.append("\(label) \(ContinuousClock.now - start)")
            return value
        }
        try await timed("up both") {
            async let a: Void = source.up()
            async let b: Void = target.up()
            _ = try await (a, b)
            // `up --wait` returns while the servers still make their secret key and migrate: wait for the end
            // of start-up, or the target's "before" would change under the test.
            async let c: Void = Self.waitStarted(source)
            async let d: Void = Self.waitStarted(target)
            _ = try await (c, d)
        }
        try await source.exec("inventree-server", ["sh", "-c", "mkdir -p /home/inventree/data/media/part_images && echo source > /home/inventree/data/media/part_images/from-source.png"]).checked("source media")
        try await target.exec("inventree-server", ["sh", "-c", "echo target > /home/inventree/data/media/before.png && ln -s /home/inventree/data /home/inventree/data/datalink"]).checked("target media")
        let envBefore = try target.read(".env")
        let data = "/home/inventree/data"
        let cluster = "holds a PostgreSQL cluster (PG_VERSION at \(data)/pgdb/PG_VERSION)"

        // 1. The preflight: refused, nothing changed.
        let targetBefore = try await TransferEndToEndTests().fingerprint(target)
        let mediaBefore = TransferEndToEndTests.tree(target.url("inventree-data/media").path)
        let cases: [(value: String, expected: [String])] = [
            (data, ["INVENTREE_MEDIA_ROOT=\(data), which is the same folder as INVENTREE_DATA_DIR (\(data))",
                    "contains INVENTREE_STATIC_ROOT (\(data)/static) and INVENTREE_BACKUP_DIR (\(data)/backup)",
                    "holds INVENTREE_CONFIG_FILE (\(data)/config.yaml)", cluster]),
            (data + "/datalink", ["INVENTREE_MEDIA_ROOT=\(data)/datalink (resolving to \(data)), which is the same folder as INVENTREE_DATA_DIR",
                                  "holds a PostgreSQL cluster (PG_VERSION at \(data)/datalink/pgdb/PG_VERSION)"]),
            ("/", ["INVENTREE_MEDIA_ROOT=/, which is the root directory /"]),
        ]
        for (value, expected) in cases {
            try target.setEnv("INVENTREE_MEDIA_ROOT", value)
            let refused = try await timed("refused \(value)") { try await source.upshift(["transfer", "--to", target.path, "--include-media", "--yes"]) }
            #expect(refused.exitCode == 64, "\(value): \(refused)")
            #expect(refused.stderr.contains("the media root of the target \(target.projectName) (service inventree-server) is "), "\(refused.stderr)")
            for text in expected { #expect(refused.stderr.contains(text), "\(value): missing \(text) in \(refused.stderr)") }
            #expect(refused.stderr.contains("empties that folder first") && refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
            #expect(E2EUpgrade.runIDs(target).isEmpty, "a refused transfer left a run folder")
        }
        try target.write(".env", envBefore)
        let targetAfter = try await TransferEndToEndTests().fingerprint(target)
        #expect(targetAfter == targetBefore, "a refused transfer changed the target: \(Set(targetAfter).symmetricDifference(targetBefore).sorted())")

        // 2. The guard in the undo script. Killed once the media copy is done: the run is left for rollback.
        let digestsBefore = try await InvenTreeE2E.tableDigests(target)
        let killed = try await timed("transfer until copy-media, kill -9") {
            try await Self.runKilled(["transfer", "--to", target.path, "--include-media", "--yes"], in: source.path, at: "ok  copy-media")
        }
        try #require(killed.killed, "the transfer was not killed after copy-media: \(killed.stderr.suffix(3000))")
        #expect(TransferEndToEndTests.tree(target.url("inventree-data/media").path)["part_images/from-source.png"] != nil, "the media copy did not happen")
        try target.setEnv("INVENTREE_MEDIA_ROOT", data)
        let dataBefore = TransferEndToEndTests.tree(target.url("inventree-data").path, excluding: ["pgdb"])
        let pgdbBefore = try FileManager.default.subpathsOfDirectory(atPath: target.url("inventree-data/pgdb").path).count
        let refused = try await timed("rollback refused by the guard") { try await target.upshift(["rollback", "--yes"]) }
        #expect(refused.exitCode == 2, "\(refused)")
        #expect(refused.stderr.contains("refused to write into or empty the media root of \(target.projectName) (service inventree-server): INVENTREE_MEDIA_ROOT=\(data) is or contains the InvenTree data directory \(data)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("exit 97") && refused.stderr.contains("still to undo"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: target.url("inventree-data/pgdb/PG_VERSION").path), "the cluster was deleted")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: target.url("inventree-data/pgdb").path).count >= pgdbBefore, "files of the cluster were deleted")
        #expect(TransferEndToEndTests.tree(target.url("inventree-data").path, excluding: ["pgdb"]) == dataBefore, "the refused undo touched the data folder")

        // The variable put back: the same rollback finishes, media and database as before the transfer.
        try target.write(".env", envBefore)
        let rollback = try await timed("rollback") { try await target.upshift(["rollback", "--yes"]) }
        #expect(rollback.exitCode == 0, "\(rollback)")
        #expect(TransferEndToEndTests.tree(target.url("inventree-data/media").path) == mediaBefore)
        #expect(try await InvenTreeE2E.tableDigests(target) == digestsBefore)
        try await InvenTreeE2E.expectRunning(target, ["inventree-db", "inventree-server", "inventree-worker"])
        print("MediaRootGuardEndToEndTests wall times: " + times.joined(separator: ", "))
    }

    /// Until the stand-in's server and worker have logged the end of their start-up (secret key, plugin
    /// registration, migrations done).
    static func waitStarted(_ d: E2EDeployment) async throws {
        try await E2EPoll.until("server and worker of \(d.projectName) started", timeout: .seconds(120), interval: .milliseconds(300)) {
            let logs = try await d.composeChecked(["logs", "--no-color", "inventree-server", "inventree-worker"]).stdout
            return logs.contains("Starting gunicorn") && logs.contains("Q Cluster InvenTree starting")
        }
    }

    /// Runs the upshift binary in `directory` with stderr streamed, and SIGKILLs it the moment a stderr line
    /// contains `marker` (a step boundary, so no helper of its is still writing). `killed` is false when it
    /// ended first.
    static func runKilled(_ arguments: [String], in directory: String, at marker: String, timeout: Duration = .seconds(300)) async throws -> (killed: Bool, stderr: String) {
        let binary = try #require(E2EEnvironment.upshiftBinary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(E2EEnvironment.childEnvironment) { $1 }.merging(["PWD": directory]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        let buffer = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in buffer.append(handle.availableData) }
        try process.run()
        let pid = process.processIdentifier
        var killed = false
        do {
            try await E2EPoll.until("\(marker) in the output of upshift \(arguments.first ?? "")", timeout: timeout, interval: .milliseconds(20)) {
                if buffer.text.contains(marker) {
                    killed = process.isRunning && kill(pid, SIGKILL) == 0
                    return true
                }
                return !process.isRunning
            }
        } catch {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
            throw error
        }
        try await E2EPoll.until("upshift (pid \(pid)) gone", timeout: .seconds(30), interval: .milliseconds(20)) { !process.isRunning }
        pipe.fileHandleForReading.readabilityHandler = nil
        return (killed, buffer.text)
    }
}

/// What a child wrote so far, appended from the pipe's reader thread.
final class OutputBuffer: Sendable {
    private let state = Mutex(Data())
    func append(_ data: Data) { state.withLock { $0.append(data) } }
    var text: String { state.withLock { String(decoding: $0, as: UTF8.self) } }
}
