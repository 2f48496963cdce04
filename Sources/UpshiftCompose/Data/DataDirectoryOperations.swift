import Foundation
import UpshiftSupport

/// File operations on a Postgres data directory, run inside short-lived helper containers that use the db
/// service's own image.
///
/// Going through the engine instead of the host filesystem means upshift needs no root (the data belongs
/// to uid 999 in mode 0700), treats named volumes and bind mounts alike, and keeps working when
/// `DOCKER_HOST` points at another machine or a VM where host paths mean nothing. The db service's own
/// image is used because it is already present (no extra pull) and has `cat`, `du`, `ls`, `mv`, `stat`.
///
/// Every helper is `docker run --rm --network none --entrypoint <tool> <mount> <image> <args…>`: an argv,
/// never a shell string, with the entrypoint overridden so the image's init logic never runs.
/// Bind mounts use `--mount type=bind`, which fails on a missing source instead of creating it as root
/// (`-v` would); a named volume is checked with `docker volume inspect` first, because mounting a missing
/// volume would silently create an empty one.
public struct DataDirectoryOperations: Sendable {
    public var runner: any CommandRunning
    /// The db service's image (`DatabaseService.imageText`).
    public var image: String
    public var docker: String
    /// Added to every docker call's environment (e.g. `DOCKER_HOST`); the rest is inherited.
    public var environment: [String: String]

    /// Where the helper container sees the mount.
    public static let mountPoint = "/upshift-data"

    public init(runner: any CommandRunning, image: String, docker: String = "docker", environment: [String: String] = [:]) {
        self.runner = runner
        self.image = image
        self.docker = docker
        self.environment = environment
    }

    /// The first of `candidates` the engine already has, else the first one (docker pulls it).
    ///
    /// After a tag bump without a pull, the service's new image may not be local (or not pullable at
    /// all), while the image of its existing container still is: any image with `cat` and `du` will do
    /// for a look at the files, so status and preflight keep working without a network.
    public static func chooseHelperImage(
        _ candidates: [String], runner: any CommandRunning, docker: String = "docker"
    ) async -> String? {
        var seen = Set<String>()
        let unique = candidates.filter { !$0.isEmpty && seen.insert($0).inserted }
        for image in unique {
            var command = Command(docker, ["image", "inspect", "--format", "{{.Id}}", image])
            command.timeout = .seconds(30)
            if let result = try? await runner.run(command), result.termination.isSuccess { return image }
        }
        return unique.first
    }

    // MARK: - Reading

    /// Reads `PG_VERSION` of the cluster at `location`.
    /// - Throws: `UpshiftError` when the engine cannot run the helper (daemon down, image unavailable).
    public func probe(_ location: DataLocation) async throws -> DataProbe {
        guard location.isPersistent else { return .notPersistent }
        if let missing = try await missingVolume(location) { return missing }
        let file = Self.containerPath(location.subpath, "PG_VERSION")
        let result = try await runHelper(location, tool: "cat", [file], readOnly: true, timeout: .seconds(120))
        if result.termination.isSuccess {
            let text = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let major = Int(text.prefix(while: \.isNumber)) else {
                throw UpshiftError("PG_VERSION in \(describe(location)) is not a version: \"\(text.prefix(40))\"")
            }
            return .cluster(major: major, pgVersion: text)
        }
        if try bindSourceMissing(result, location) { return .directoryMissing(path: location.hostPath ?? "?") }
        // cat failed: tell a missing directory from an empty one from a non-cluster.
        let listing = try await runHelper(
            location, tool: "ls", ["-A", Self.containerPath(location.subpath)], readOnly: true, timeout: .seconds(120))
        if !listing.termination.isSuccess {
            _ = try bindSourceMissing(listing, location)
            return .directoryMissing(path: describe(location))
        }
        return listing.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            ? .empty(path: describe(location)) : .notACluster(path: describe(location))
    }

    /// The size of the data directory in bytes (`du -sk`), `nil` when it does not exist.
    public func size(_ location: DataLocation) async throws -> Int64? {
        guard location.isPersistent else { return nil }
        if try await missingVolume(location) != nil { return nil }
        let result = try await runHelper(
            location, tool: "du", ["-sk", Self.containerPath(location.subpath)], readOnly: true, timeout: .seconds(600))
        guard result.termination.isSuccess else {
            _ = try bindSourceMissing(result, location)
            return nil
        }
        guard let kib = Int64(result.stdoutText.prefix(while: \.isNumber)) else { return nil }
        return kib * 1024
    }

    /// Whether `relativePath` (relative to the mount root, not to PGDATA) exists in the mount.
    public func exists(_ location: DataLocation, relativePath: String) async throws -> Bool {
        if try await missingVolume(location) != nil { return false }
        let result = try await runHelper(
            location, tool: "ls", ["-d", Self.containerPath(relativePath)], readOnly: true, timeout: .seconds(60))
        if !result.termination.isSuccess { _ = try bindSourceMissing(result, location) }
        return result.termination.isSuccess
    }

    /// Owner and mode of `relativePath` (relative to the mount root), `nil` when it does not exist.
    public func ownership(_ location: DataLocation, relativePath: String) async throws -> FileOwnership? {
        if try await missingVolume(location) != nil { return nil }
        let result = try await runHelper(
            location, tool: "stat", ["-c", "%u %g %a", Self.containerPath(relativePath)], readOnly: true,
            timeout: .seconds(60))
        guard result.termination.isSuccess else {
            _ = try bindSourceMissing(result, location)
            return nil
        }
        guard let owner = FileOwnership(statLine: result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw UpshiftError("unexpected output of stat in the helper container: \(result.stdoutText.prefix(80))")
        }
        return owner
    }

    // MARK: - Changing

    /// Renames `from` to `to`, both relative to the mount root, inside the same mount: a rename(2), O(1),
    /// never a copy. Refuses when `from` is the mount root itself (a mount point cannot be renamed from
    /// inside; see `DataLocation.parentForMoveAside`) or `to` already exists.
    /// - Returns: the owner and mode of the moved directory.
    /// - Throws: `UpshiftError` when the move is impossible, `mv` fails, or the result is not as expected.
    @discardableResult
    public func moveAside(_ location: DataLocation, from: String, to: String) async throws -> FileOwnership {
        try await move(location, [(from, to)])[0]
    }

    /// Renames each `(from, to)` in order (each relative to the mount root), in one helper container
    /// running `moveScript`, because each container costs about 0.3 s of downtime: for each pair it refuses
    /// a missing `from` or an existing `to`, renames, and proves the result — `to` exists with the owner and
    /// mode `from` had, and `from` is gone. It stops at the first failure; the pairs before it stay moved.
    /// - Returns: the owner and mode of each moved directory.
    @discardableResult
    public func move(_ location: DataLocation, _ pairs: [(from: String, to: String)], thenCreate created: String? = nil) async throws -> [FileOwnership] {
        let pairs = pairs.map { (from: Self.trim($0.from), to: Self.trim($0.to)) }
        guard !pairs.isEmpty else { return [] }
        for pair in pairs where pair.from.isEmpty || pair.to.isEmpty {
            throw UpshiftError(
                "cannot move the root of \(describe(location, subpath: "")) aside from inside the mount",
                hint: "move the data into a sub-directory of the volume, or use a re-point strategy")
        }
        guard location.isPersistent else { throw UpshiftError("cannot move non-persistent data (\(location.summary))") }
        if try await missingVolume(location) != nil {
            throw UpshiftError("volume \(location.volumeName ?? "?") does not exist")
        }
        let result = try await runner.run(moveCommand(location, pairs, thenCreate: created))
        let lines = result.stdoutText.split(whereSeparator: \.isNewline).map(String.init)
        let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        let failed = pairs[min(lines.count / 2, pairs.count - 1)]
        switch result.termination {
        case .exited(0):
            break
        case .exited(3):
            throw UpshiftError("\(describe(location, subpath: failed.from)) does not exist")
        case .exited(4):
            throw UpshiftError("\(describe(location, subpath: failed.to)) already exists; refusing to overwrite it")
        case .exited(6):
            throw UpshiftError("moving \(describe(location, subpath: failed.from)) to \(failed.to) failed: \(stderr)")
        case .exited(8):
            throw UpshiftError("\(describe(location, subpath: failed.from)) and \(failed.to) are on different filesystems: a move would copy the data; refusing")
        case .exited(9):
            throw UpshiftError("creating the new data directory \(describe(location, subpath: created ?? "?")) failed: \(stderr)")
        default:
            if try bindSourceMissing(result, location) { throw UpshiftError("\(location.hostPath ?? "?") does not exist") }
            throw UpshiftError("after moving \(describe(location, subpath: failed.from)) to \(failed.to), the result is not as expected (\(result.termination)): \(stderr)")
        }
        var owners: [FileOwnership] = []
        for (index, pair) in pairs.enumerated() {
            let before = lines.count > 2 * index ? FileOwnership(statLine: lines[2 * index]) : nil
            let after = lines.count > 2 * index + 1 ? FileOwnership(statLine: lines[2 * index + 1]) : nil
            guard let before, after == before else {
                throw UpshiftError("after moving \(describe(location, subpath: pair.from)) to \(pair.to), the result is not as expected (owner and mode before and after: \(lines.joined(separator: " / ")))")
            }
            owners.append(before)
        }
        return owners
    }

    /// The shell program of `move`. A constant: the paths reach it only as positional parameters (`$1`,
    /// `$2`, pair after pair), never spliced into the text. Exit 3: a `from` missing; 4: a `to` exists;
    /// 5: cannot stat; 6: `mv` failed; 7: `from` still there or `to` missing afterwards. Prints
    /// `uid gid mode` before and after each rename.
    ///
    /// Exit 8: `from` and the directory of `to` are on different filesystems, where `mv` would copy and
    /// delete instead of renaming. A last, unpaired argument is a directory to create afterwards with the
    /// owner and mode the first moved directory had (a bind at PGDATA whose source must exist); exit 9 when
    /// that fails.
    public static let moveScript =
        #"o=; while [ $# -ge 2 ]; do [ -e "$1" ] || exit 3; if [ -e "$2" ] || [ -L "$2" ]; then exit 4; fi; "#
        + #"[ "$(stat -c %d "$1")" = "$(stat -c %d "${2%/*}")" ] || exit 8; "#
        + #"b=$(stat -c '%u %g %a' "$1") || exit 5; mv -- "$1" "$2" || exit 6; "#
        + #"if [ -e "$1" ] || [ -L "$1" ]; then exit 7; fi; a=$(stat -c '%u %g %a' "$2") || exit 7; echo "$b"; echo "$a"; "#
        + #"[ -n "$o" ] || o=$(stat -c '%u:%g %a' "$2"); shift 2; done; "#
        + #"if [ $# -eq 1 ]; then mkdir -- "$1" && chown "${o% *}" "$1" && chmod "${o#* }" "$1" || exit 9; fi"#

    /// The one helper of `move` (exposed for plans and dry runs).
    public func moveCommand(_ location: DataLocation, _ pairs: [(from: String, to: String)], thenCreate created: String? = nil) -> Command {
        let paths = pairs.flatMap { [Self.containerPath($0.from), Self.containerPath($0.to)] } + (created.map { [Self.containerPath($0)] } ?? [])
        var command = helperCommand(location, tool: "sh", ["-c", Self.moveScript, "upshift-move"] + paths, readOnly: false)
        command.timeout = .seconds(120)
        return command
    }

    // MARK: - Helpers

    /// The `docker run` argv for a helper (exposed for plans and dry runs).
    public func helperCommand(_ location: DataLocation, tool: String, _ arguments: [String], readOnly: Bool) -> Command {
        // As root whatever the image's USER (Bitnami's 1001, TimescaleDB HA's 1000): the helper renames and
        // measures folders the server's user may not own (a bind mount's parent, a volume root).
        var args = ["run", "--rm", "--network", "none", "--log-driver", "none", "--user", "0:0", "--entrypoint", tool]
        args += Self.mountArguments(location, readOnly: readOnly)
        args += ["--label", "com.upshift.helper=true", image]
        args += arguments
        return Command(docker, args, environment: environment)
    }

    /// The `docker run` arguments that mount `location` at `mountPoint`: `--mount type=bind` for a host
    /// directory (fails on a missing source instead of creating it), `-v name:` for a named volume.
    public static func mountArguments(_ location: DataLocation, readOnly: Bool) -> [String] {
        switch location.kind {
        case .bind:
            var spec = "type=bind," + csvField("source=\(location.hostPath ?? "")") + ",target=\(mountPoint)"
            if readOnly { spec += ",readonly" }
            return ["--mount", spec]
        default:
            return ["-v", "\(location.volumeName ?? ""):\(mountPoint)\(readOnly ? ":ro" : "")"]
        }
    }

    package func runHelper(_ location: DataLocation, tool: String, _ arguments: [String], readOnly: Bool, timeout: Duration) async throws -> CommandResult {
        var command = helperCommand(location, tool: tool, arguments, readOnly: readOnly)
        command.timeout = timeout
        return try await runner.run(command)
    }

    /// `.volumeMissing` for a named volume the engine does not have.
    package func missingVolume(_ location: DataLocation) async throws -> DataProbe? {
        guard location.kind == .volume, let name = location.volumeName else { return nil }
        var command = Command(docker, ["volume", "inspect", "--format", "{{.Name}}", name], environment: environment)
        command.timeout = .seconds(30)
        let result = try await runner.run(command)
        if result.termination.isSuccess { return nil }
        let stderr = result.stderrText.lowercased()
        if stderr.contains("no such volume") { return .volumeMissing(name: name) }
        throw Self.engineError(result)
    }

    /// For a failed helper: true when docker could not start it because the bind source is missing (an
    /// answer), false when the tool itself failed (exit != 125). Any other docker failure (daemon down,
    /// image not pullable) throws.
    package func bindSourceMissing(_ result: CommandResult, _ location: DataLocation) throws -> Bool {
        guard result.termination == .exited(125) else { return false }
        let stderr = result.stderrText.lowercased()
        if location.kind == .bind, stderr.contains("bind source path does not exist") || stderr.contains("no such file or directory") {
            return true
        }
        throw Self.engineError(result)
    }

    static func engineError(_ result: CommandResult) -> UpshiftError {
        // docker prints the error first and usage advice ("Run 'docker run --help'") after it.
        let lines = result.stderrText.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        let line = lines.first { !$0.hasPrefix("Run '") && !$0.hasPrefix("See '") } ?? lines.last ?? "\(result.termination)"
        let unreachable = line.contains("Cannot connect to the Docker daemon") || line.contains("failed to connect to the docker API")
        return UpshiftError(
            "docker could not run a helper container: \(line)",
            hint: unreachable ? "is the docker engine running? (DOCKER_HOST=\(ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "default"))" : nil,
            exitCode: unreachable ? .unavailable : .failedRolledBack)
    }

    func describe(_ location: DataLocation, subpath: String? = nil) -> String {
        let sub = subpath ?? location.subpath
        switch location.kind {
        case .bind: return sub.isEmpty ? (location.hostPath ?? "?") : "\(location.hostPath ?? "?")/\(sub)"
        default: return "volume \(location.volumeName ?? "?")" + (sub.isEmpty ? "" : " at \(sub)")
        }
    }

    public static func containerPath(_ parts: String...) -> String {
        let rest = parts.map(trim).filter { !$0.isEmpty }
        return ([mountPoint] + rest).joined(separator: "/")
    }

    package static func trim(_ path: String) -> String { path.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }

    /// docker's `--mount` value is CSV: quote a field that contains a comma or a quote.
    public static func csvField(_ field: String) -> String {
        guard field.contains(",") || field.contains("\"") else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
