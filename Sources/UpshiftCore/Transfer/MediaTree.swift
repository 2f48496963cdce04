import Foundation
import UpshiftSupport

/// The media tree of one InvenTree deployment (`$INVENTREE_MEDIA_ROOT`, default `<data>/media`), read and
/// written only through throw-away containers of the server image, so ownership, permissions and named
/// volumes are handled by the engine and upshift needs no root on the host.
public struct MediaTree: Sendable {
    public var endpoint: InvenTreeEndpoint

    public init(endpoint: InvenTreeEndpoint) { self.endpoint = endpoint }

    /// The shell prelude every script starts with: `$m` is the media root. The default applies only when the
    /// variable is unset; an empty value stays empty (InvenTree refuses it too), so the guard can refuse it.
    static let prelude = #"m="${INVENTREE_MEDIA_ROOT-/home/inventree/data/media}"; "#

    /// The prelude of every script that writes the tree: `MediaRootGuard.shell` runs first, in the same
    /// container, and exits 97 instead of touching `/`, the data directory or a PostgreSQL cluster.
    static let guardedPrelude = prelude + "\n" + MediaRootGuard.shell

    /// Empties the current directory (the media root, after `cd "$m"`): each top-level entry removed with
    /// `rm -rf`, which removes links rather than following them. Not `find -delete`: busybox's find (images
    /// built on busybox, the test stand-in among them) has no `-delete`, and the undo failed there.
    static let wipe = #"find . -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + && "#

    /// One regular file: SHA-256 of its bytes.
    public typealias Hashes = [String: String]
    /// One entry (file, directory, link): `mode uid:gid`.
    public typealias Attributes = [String: String]

    /// SHA-256 per regular file, keyed by path relative to the media root (`part_images/a.png`).
    public func hashes() async throws -> Hashes {
        let script = Self.prelude + #"[ -d "$m" ] || exit 0; cd "$m" && find . -type f -exec sha256sum {} +"#
        return Self.parseHashes(try await endpoint.shell(script, timeout: .seconds(6 * 3600)).stdoutText)
    }

    /// `mode uid:gid` per entry below the root (ownership and permissions to compare after a copy).
    public func attributes() async throws -> Attributes {
        let script = Self.prelude + #"[ -d "$m" ] || exit 0; cd "$m" && find . -mindepth 1 -exec stat -c '%a %u:%g %n' {} +"#
        var result: Attributes = [:]
        for line in try await endpoint.shell(script, timeout: .seconds(3600)).stdoutText.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3 else { continue }
            result[Self.relative(String(parts[2]))] = "\(parts[0]) \(parts[1])"
        }
        return result
    }

    /// Every symbolic link and what it points to (NUL-separated, so any file name survives).
    public func links() async throws -> [(link: String, target: String)] {
        let script = Self.prelude + #"[ -d "$m" ] || exit 0; cd "$m" && find . -type l -exec sh -c 'for l; do printf "%s\0%s\0" "$l" "$(readlink -- "$l")"; done' sh {} +"#
        let fields = try await endpoint.shell(script, timeout: .seconds(3600)).standardOutput.split(separator: 0, omittingEmptySubsequences: false)
        var pairs: [(String, String)] = []
        var index = 0
        while index + 1 < fields.count {
            pairs.append((Self.relative(String(decoding: fields[index], as: UTF8.self)), String(decoding: fields[index + 1], as: UTF8.self)))
            index += 2
        }
        return pairs
    }

    /// Streams the tree as a tar archive into a host file (numeric owners, modes kept).
    public func archive(to hostPath: String) async throws {
        guard FileManager.default.createFile(atPath: hostPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: hostPath)
        else { throw UpshiftError("cannot create \(hostPath)") }
        do {
            try await endpoint.shell(Self.prelude + #"mkdir -p "$m" && cd "$m" && exec tar --numeric-owner -cf - ."#, stdout: .file(handle), timeout: .seconds(6 * 3600))
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
    }

    /// Runs `MediaRootGuard.shell` alone: throws its refusal before anything of the tree is archived or
    /// written, so that a refused copy leaves no snapshot and its undo has nothing to do.
    public func checkGuard() async throws {
        try await endpoint.shell(Self.guardedPrelude + "exit 0", timeout: .seconds(3600))
    }

    /// Extracts a host tar archive into the tree (as root in the container: owners and modes restored).
    /// With `replace`, everything already below the root is removed first (used to undo a copy). Both behind
    /// `MediaRootGuard.shell`: a refusal is thrown as `MediaRootGuard.scriptRefusal`.
    public func extract(from hostPath: String, replace: Bool = false) async throws {
        let wipe = replace ? Self.wipe : ""
        try await endpoint.shell(Self.guardedPrelude + #"mkdir -p "$m" && cd "$m" && "# + wipe + #"exec tar --numeric-owner -xf -"#, stdinFile: hostPath, timeout: .seconds(6 * 3600))
    }

    // MARK: - Pure helpers

    /// `sha256sum` lines (`<hex>  ./dir/file`) -> relative path -> hex.
    public static func parseHashes(_ text: String) -> Hashes {
        var result: Hashes = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard line.count > 66 else { continue }
            let hex = String(line.prefix(64))
            let name = String(line.dropFirst(66))
            result[relative(name)] = hex
        }
        return result
    }

    static func relative(_ path: String) -> String {
        path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    }

    /// Links that resolve outside the media root (absolute targets outside `root`, or `..` climbing out).
    /// They are refused: copied as-is they would point at something else, or at nothing, on the target.
    public static func escapingLinks(_ links: [(link: String, target: String)], root: String = InvenTreeEndpoint.mediaDirectory) -> [(link: String, target: String)] {
        links.filter { link, target in
            if target.hasPrefix("/") {
                let normalized = normalize(target.split(separator: "/").map(String.init))
                let rootParts = root.split(separator: "/").map(String.init)
                guard let normalized else { return true }
                return !(normalized.count > rootParts.count && Array(normalized.prefix(rootParts.count)) == rootParts)
            }
            let base = link.split(separator: "/").map(String.init).dropLast()
            return normalize(Array(base) + target.split(separator: "/").map(String.init)) == nil
        }
    }

    /// Resolves `.` and `..` lexically; `nil` when `..` climbs above the start.
    static func normalize(_ parts: [String]) -> [String]? {
        var out: [String] = []
        for part in parts where !part.isEmpty && part != "." {
            if part == ".." {
                guard !out.isEmpty else { return nil }
                out.removeLast()
            } else {
                out.append(part)
            }
        }
        return out
    }

    /// Differences between two hash lists: files missing in `copy`, and files whose content differs.
    public static func compare(_ original: Hashes, _ copy: Hashes) -> (missing: [String], different: [String], extra: [String]) {
        let missing = original.keys.filter { copy[$0] == nil }.sorted()
        let different = original.keys.filter { copy[$0] != nil && copy[$0] != original[$0] }.sorted()
        let extra = copy.keys.filter { original[$0] == nil }.sorted()
        return (missing, different, extra)
    }
}
