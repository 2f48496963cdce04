import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftPlans
@testable import UpshiftSupport
import UpshiftTestSupport

/// `transfer --include-media` never writes into or empties a media root that is `/`, relative, too shallow,
/// the data directory or a parent of it (or of the config file, secret key, static root or backup dir), or a
/// folder holding a PostgreSQL cluster: the preflight's judgement (pure), its probe on a recorded engine, and
/// the shell guard itself run by a real `/bin/sh` against a scratch tree (its tail only echoes: nothing here
/// ever deletes).
struct MediaRootGuardTests {
    /// The stock image's variables (InvenTree's Dockerfile), with the media root as given.
    static func facts(_ value: String?, physical: String? = nil, cluster: String? = nil) -> MediaRootFacts {
        let data = "/home/inventree/data"
        return MediaRootFacts(
            value: value, physical: physical,
            protected: [
                .init(name: "INVENTREE_DATA_DIR", value: data), .init(name: "MOUNT", value: data),
                .init(name: "INVENTREE_STATIC_ROOT", value: data + "/static"), .init(name: "INVENTREE_BACKUP_DIR", value: data + "/backup"),
                .init(name: "INVENTREE_CONFIG_FILE", value: data + "/config.yaml"), .init(name: "INVENTREE_SECRET_KEY_FILE", value: data + "/secret_key.txt"),
            ],
            clusterFile: cluster)
    }

    @Test func aMediaFolderOfItsOwnPasses() {
        #expect(MediaRootGuard.reasons(Self.facts(nil)).isEmpty)
        #expect(MediaRootGuard.reasons(Self.facts("/home/inventree/data/media")).isEmpty)
        #expect(MediaRootGuard.reasons(Self.facts("/srv/media", physical: "/mnt/disk/media")).isEmpty)
        // Inside another protected folder is no danger to it: only that sub-folder is emptied.
        #expect(MediaRootGuard.reasons(Self.facts("/home/inventree/data/static/media")).isEmpty)
    }

    @Test(arguments: [
        ("", ["is empty"]),
        ("media", ["is not an absolute path"]),
        ("/", ["is the root directory /"]),
        ("//", ["is the root directory /"]),
        ("/home/..", ["is the root directory /"]),
        ("/media", ["has fewer than two path components"]),
    ])
    func shapesThatAreNeverAMediaFolder(_ value: String, _ expected: [String]) {
        #expect(MediaRootGuard.reasons(Self.facts(value)) == expected)
    }

    @Test func theDataDirectoryAndItsParentsAreRefusedWithEverythingTheyHold() {
        let data = MediaRootGuard.reasons(Self.facts("/home/inventree/data", cluster: "/home/inventree/data/pgdb/PG_VERSION"))
        #expect(data == [
            "is the same folder as INVENTREE_DATA_DIR (/home/inventree/data)",
            "contains INVENTREE_STATIC_ROOT (/home/inventree/data/static) and INVENTREE_BACKUP_DIR (/home/inventree/data/backup)",
            "holds INVENTREE_CONFIG_FILE (/home/inventree/data/config.yaml) and INVENTREE_SECRET_KEY_FILE (/home/inventree/data/secret_key.txt)",
            "holds a PostgreSQL cluster (PG_VERSION at /home/inventree/data/pgdb/PG_VERSION)",
        ])
        let parent = MediaRootGuard.reasons(Self.facts("/home/inventree"))
        #expect(parent.first == "contains INVENTREE_DATA_DIR (/home/inventree/data) and INVENTREE_STATIC_ROOT (/home/inventree/data/static) and INVENTREE_BACKUP_DIR (/home/inventree/data/backup)", "\(parent)")
        // Lexically (`..`) and through a link (what readlink -f said in the container).
        #expect(MediaRootGuard.reasons(Self.facts("/home/inventree/data/media/..")).first == "is the same folder as INVENTREE_DATA_DIR (/home/inventree/data)")
        #expect(MediaRootGuard.reasons(Self.facts("/srv/media", physical: "/home/inventree/data")).first == "is the same folder as INVENTREE_DATA_DIR (/home/inventree/data)")
        #expect(MediaRootGuard.reasons(Self.facts("/srv/media", physical: "/")) == ["resolves to the root directory /"])
        #expect(MediaRootGuard.reasons(Self.facts("/home/inventree/data/static")) == ["is the same folder as INVENTREE_STATIC_ROOT (/home/inventree/data/static)"])
        // A cluster anywhere below is enough, whatever the variables say.
        #expect(MediaRootGuard.reasons(Self.facts("/srv/media", cluster: "/srv/media/old/pgdb/PG_VERSION")) == ["holds a PostgreSQL cluster (PG_VERSION at /srv/media/old/pgdb/PG_VERSION)"])
    }

    @Test func probeOutputIsParsed() throws {
        let fields = ["INVENTREE_MEDIA_ROOT", "set", "/home/inventree/data/", "/home/inventree/data",
                      "INVENTREE_DATA_DIR", "", "/home/inventree/data", "/home/inventree/data",
                      "MOUNT", "set", "/home/inventree/data", "/home/inventree/data",
                      "INVENTREE_STATIC_ROOT", "", "", "",
                      "INVENTREE_CONFIG_FILE", "set", "/etc/inventree/config.yaml", "",
                      "PG_VERSION", "", "/home/inventree/data/pgdb/PG_VERSION", ""]
        let facts = try MediaRootGuard.parse(Data((fields.joined(separator: "\0") + "\0").utf8))
        #expect(facts.value == "/home/inventree/data/" && facts.physical == "/home/inventree/data")
        #expect(facts.protected.map(\.name) == ["MOUNT", "INVENTREE_CONFIG_FILE"], "unset variables are no folders")
        #expect(facts.protected.last?.folder == "/etc/inventree")
        #expect(facts.clusterFile == "/home/inventree/data/pgdb/PG_VERSION")
        #expect(facts.display == "INVENTREE_MEDIA_ROOT=/home/inventree/data/")
        #expect(throws: UpshiftError.self) { try MediaRootGuard.parse(Data()) }
    }

    // MARK: - Preflight on a recorded engine

    func endpoint(name: String, probe: [String]) throws -> (InvenTreeEndpoint, RecordingRunner) {
        var config = try ComposeFixtures.config("inventree")
        config.name = name
        let dir = ComposeFixtures.directory("inventree")
        let location = ComposeProjectLocation(directory: dir, files: ["\(dir)/docker-compose.yml"], fileSource: .discovered, explicitProjectName: nil, envFiles: ["\(dir)/.env"])
        let runner = RecordingRunner(strict: true)
        runner.stub(["docker", "compose"], stdout: probe.joined(separator: "\0") + "\0")
        let cli = ComposeCLI(runner: runner, tool: ComposeTool(flavor: .plugin, version: ComposeVersion(major: 2, minor: 29, patch: 0)), location: location, projectName: name)
        return (try InvenTreeEndpoint(project: ComposeProject(location: location, cli: cli, config: config, options: ComposeOptions()), runner: runner), runner)
    }

    static func probe(media: String, cluster: String = "") -> [String] {
        ["INVENTREE_MEDIA_ROOT", "set", media, media, "INVENTREE_DATA_DIR", "set", "/home/inventree/data", "/home/inventree/data",
         "MOUNT", "set", "/home/inventree/data", "/home/inventree/data", "PG_VERSION", "", cluster, ""]
    }

    @Test func preflightRefusesTheTargetsDataDirectoryAndNamesTheWayOut() async throws {
        let (source, sourceRunner) = try endpoint(name: "src", probe: Self.probe(media: "/home/inventree/data/media"))
        let (target, targetRunner) = try endpoint(name: "dst", probe: Self.probe(media: "/home/inventree/data", cluster: "/home/inventree/data/pgdb/PG_VERSION"))
        do {
            try await MediaRootGuard.check(source: source, target: target, progress: { _ in })
            Issue.record("the target's data directory was accepted as its media root")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage)
            #expect(error.message.hasPrefix("the media root of the target dst (service inventree-server) is INVENTREE_MEDIA_ROOT=/home/inventree/data, which is the same folder as INVENTREE_DATA_DIR"), "\(error.message)")
            #expect(error.message.contains("holds a PostgreSQL cluster (PG_VERSION at /home/inventree/data/pgdb/PG_VERSION)"))
            #expect(error.message.contains("empties that folder first"))
            #expect(error.hint?.contains("InvenTree's default: /home/inventree/data/media") == true && error.hint?.hasSuffix("nothing was changed") == true)
            #expect(!error.message.contains("Sample-InvenTree-DB-pw"))
        }
        // One read-only helper container per side, the fixed probe script with no value in it.
        for runner in [sourceRunner, targetRunner] {
            #expect(runner.argvs.count == 1)
            let argv = try #require(runner.argvs.first)
            #expect(argv.contains("run") && argv.contains("--no-deps") && argv.contains(MediaRootGuard.probe))
        }
        // A source whose root holds the cluster is refused too: the copy would carry it to the target.
        let (badSource, _) = try endpoint(name: "src", probe: Self.probe(media: "/home/inventree/data", cluster: "/home/inventree/data/pgdb/PG_VERSION"))
        let (goodTarget, _) = try endpoint(name: "dst", probe: Self.probe(media: "/home/inventree/data/media"))
        await #expect(throws: UpshiftError.self) { try await MediaRootGuard.check(source: badSource, target: goodTarget, progress: { _ in }) }
        try await MediaRootGuard.check(source: try endpoint(name: "src", probe: Self.probe(media: "/home/inventree/data/media")).0, target: goodTarget, progress: { _ in })
    }

    @Test func aScriptRefusalBecomesAClearError() {
        let command = Command("docker", ["compose"])
        let refused = CommandResult(command: command, termination: .exited(97),
                                    standardError: Data("Container x Creating\nupshift-media-guard: INVENTREE_MEDIA_ROOT=/home/inventree/data is or contains the InvenTree data directory /home/inventree/data\n".utf8))
        let error = MediaRootGuard.scriptRefusal(refused, project: "dst", server: "inventree-server", directory: "/srv/dst", redactor: Redactor())
        #expect(error?.message == "refused to write into or empty the media root of dst (service inventree-server): INVENTREE_MEDIA_ROOT=/home/inventree/data is or contains the InvenTree data directory /home/inventree/data (upshift's guard in the helper container, exit 97; nothing in it was touched)")
        #expect(error?.hint?.contains("/srv/dst's .env") == true)
        #expect(MediaRootGuard.scriptRefusal(CommandResult(command: command, termination: .exited(97)), project: "d", server: "s", directory: "/", redactor: Redactor()) == nil,
                "exit 97 without the guard's line is some other failure")
        #expect(MediaRootGuard.scriptRefusal(CommandResult(command: command, termination: .exited(2), standardError: refused.standardError), project: "d", server: "s", directory: "/", redactor: Redactor()) == nil)
    }

    /// The undo of a copy, perhaps days later: its delete runs behind the guard, and the guard's refusal is
    /// reported as such (not as a failed tar), so the rollback stops with the reason.
    @Test func restoreMediaUndoRunsBehindTheGuard() async throws {
        let (target, runner) = try endpoint(name: "dst", probe: [])
        let compose = target.project.cli.command([]).argv
        runner.stub(["docker", "compose", "version", "--short"], stdout: "2.29.0\n")
        runner.stub(compose + ["config", "--format", "json"], stdout: try String(contentsOfFile: ComposeFixtures.directory("inventree") + "/config.json", encoding: .utf8))
        runner.stub(compose + ["run"], exit: 97, stderr: "upshift-media-guard: INVENTREE_MEDIA_ROOT=/home/inventree/data holds a PostgreSQL cluster (/home/inventree/data/pgdb/PG_VERSION)\n")
        let snapshot = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-media-\(UUID().uuidString.prefix(8)).tar").path
        #expect(FileManager.default.createFile(atPath: snapshot, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: snapshot) }
        let spec = try CompensationSpec(kind: RestoreMediaCompensator.kind, description: "media", typedPayload: RestoreMediaPayload(handle: target.handle, server: "inventree-server", snapshotPath: snapshot))
        do {
            try await RestoreMediaCompensator(runner: runner).compensate(spec, state: .partial, context: CompensationContext(runID: RunID("20261128-120000-abcd")!))
            Issue.record("the guard's refusal was not reported")
        } catch let error as UpshiftError {
            #expect(error.message.hasPrefix("refused to write into or empty the media root of dst (service inventree-server): INVENTREE_MEDIA_ROOT=/home/inventree/data holds a PostgreSQL cluster"), "\(error.message)")
        }
        let run = try #require(runner.argvs.first { $0.contains("run") })
        let script = try #require(run.firstIndex(of: "-c").map { run[$0 + 1] })
        #expect(script.hasPrefix(MediaTree.guardedPrelude) && script.hasSuffix("find . -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + && exec tar --numeric-owner -xf -"))
    }

    /// A root that changed after the preflight: the copy step is refused by the guard before it archives or
    /// writes anything, so no snapshot exists and the step's undo is a no-op (the rest rolls back as usual).
    @Test func copyStepIsRefusedBeforeItArchivesAnything() async throws {
        let (source, sourceRunner) = try endpoint(name: "src", probe: [])
        let (target, targetRunner) = try endpoint(name: "dst", probe: [])
        targetRunner.stub(["docker", "compose"], exit: 97, stderr: "upshift-media-guard: INVENTREE_MEDIA_ROOT=/ is the root directory /\n")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-run-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let runID = RunID("20261128-120000-abcd")!
        let context = TransferContext(runID: runID, source: source, target: target, version: InvenTreeVersion(1, 0, 0), includeMedia: true,
                                      exportOptions: ExportRecordsOptions(), targetRunningAppServices: [], targetUserData: [:], plugins: [], warnings: [])
        let world = TransferWorld(context: context, runFolder: RunFolder(projectDirectory: folder, runID: runID))
        do {
            _ = try await TransferMediaStep(world: world).run(StepContext(runID: runID))
            Issue.record("the copy went on past the guard")
        } catch let error as UpshiftError {
            #expect(error.message.contains("INVENTREE_MEDIA_ROOT=/ is the root directory /"), "\(error.message)")
        }
        #expect(sourceRunner.argvs.count == 1, "only the source's link listing ran: \(sourceRunner.argvs)")
        #expect(targetRunner.argvs.count == 1 && targetRunner.argvs[0].last(where: { $0.contains("upshift-media-guard") })?.hasSuffix("exit 0") == true)
        #expect(!FileManager.default.fileExists(atPath: world.mediaSnapshotPath))
    }

    // MARK: - The shell guard, run for real

    /// A scratch InvenTree data directory: `data/{media/a.png,pgdb/PG_VERSION,config.yaml}`, a link to it, and
    /// a folder holding an old cluster (and a link to that).
    static func scratch() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-guard-\(UUID().uuidString.prefix(8))").path
        for dir in ["data/media", "data/pgdb", "other/old/pgdb"] {
            try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        for file in ["data/media/a.png", "data/pgdb/PG_VERSION", "data/config.yaml", "other/old/pgdb/PG_VERSION"] {
            #expect(FileManager.default.createFile(atPath: root + "/" + file, contents: Data("x".utf8)))
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/data")
        try FileManager.default.createSymbolicLink(atPath: root + "/otherlink", withDestinationPath: root + "/other")
        return root
    }

    /// Runs the guarded prelude with a harmless tail in `shell`; the media root is unset when `media` is nil.
    static func guarded(_ shell: [String], media: String?, data: String) async throws -> CommandResult {
        var command = Command(shell[0], Array(shell.dropFirst()) + ["-c", MediaTree.guardedPrelude + #"echo "passed $m""#],
                              environment: ["INVENTREE_DATA_DIR": data], timeout: .seconds(30))
        if let media { command.environment["INVENTREE_MEDIA_ROOT"] = media } else { command.unsetEnvironment = ["INVENTREE_MEDIA_ROOT"] }
        return try await LiveCommandRunner().run(command)
    }

    static let shells: [[String]] = [["/bin/sh"]] + (FileManager.default.isExecutableFile(atPath: "/bin/busybox") ? [["/bin/busybox", "sh"]] : [])

    @Test(arguments: shells)
    func shellGuardRefusesWithItsOwnExitCode(_ shell: [String]) async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data"
        for media in [data + "/media", data + "/media/new", nil] {
            let result = try await Self.guarded(shell, media: media, data: data)
            #expect(result.termination == .exited(0) && result.stdoutText.hasPrefix("passed "), "\(shell) \(media ?? "unset"): \(result.stderrText)")
        }
        let refusals: [(String, String)] = [
            ("", "is empty"), ("media", "is not an absolute path"), ("/", "is the root directory /"), ("//", "is the root directory /"),
            ("/tmp/..", "resolves to the root directory /"),
            (data, "is or contains the InvenTree data directory \(data)"), (data + "/", "is or contains the InvenTree data directory"),
            (root, "is or contains the InvenTree data directory"), (data + "/media/..", "is or contains the InvenTree data directory"),
            (root + "/link", "is or contains the InvenTree data directory \(data)"),
            (root + "/other", "holds a PostgreSQL cluster (\(root)/other/old/pgdb/PG_VERSION)"),
            (root + "/otherlink", "holds a PostgreSQL cluster (\(root)/otherlink/old/pgdb/PG_VERSION)"),
        ]
        for (media, reason) in refusals {
            let result = try await Self.guarded(shell, media: media, data: data)
            #expect(result.termination == .exited(MediaRootGuard.exitCode), "\(shell) \(media): \(result.termination) \(result.stdoutText)")
            #expect(result.stderrText.contains("upshift-media-guard: INVENTREE_MEDIA_ROOT=\(media) \(reason)"), "\(shell) \(media): \(result.stderrText)")
            #expect(!result.stdoutText.contains("passed"))
        }
        #expect(FileManager.default.fileExists(atPath: data + "/pgdb/PG_VERSION") && FileManager.default.fileExists(atPath: data + "/media/a.png"))
    }

    @Test func everyScriptThatWritesTheTreeIsGuarded() throws {
        #expect(MediaTree.guardedPrelude.hasPrefix(MediaTree.prelude) && MediaTree.guardedPrelude.contains(MediaRootGuard.shell))
        #expect(!MediaTree.prelude.contains(":-"), "an empty INVENTREE_MEDIA_ROOT must stay empty, not fall back to the default")
    }
}
