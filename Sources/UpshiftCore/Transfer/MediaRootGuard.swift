import Foundation
import UpshiftSupport

/// Keeps `transfer --include-media` away from anything but a media folder.
///
/// The copy writes the source's media into the target's `$INVENTREE_MEDIA_ROOT`, and its undo empties that
/// folder (`MediaTree.wipe`: every entry below it removed) before extracting the archive taken first.
/// InvenTree takes the folder from that variable alone, so a root set to `/`, to the data directory — which
/// in InvenTree's own compose file is the same host folder as the database's mount, holding the cluster
/// `pgdb` — or to a folder holding the config file, the secret key, static files or backups would be
/// destroyed. Two layers:
/// - `check` (preflight, nothing changed yet): the roots of both sides as their server image resolves them,
///   judged by `reasons`, refused with exit 64;
/// - `shell` (inside every script that writes the target's tree): a minimal guard that refuses `/`, an empty
///   or relative root, one that is or holds the data directory, and one holding a `PG_VERSION` file, with
///   exit code `exitCode` — in the same container, a moment before the write, so a root changed after the
///   preflight (or before a later `upshift rollback`) is still caught.
public enum MediaRootGuard {
    /// The exit code of `shell`'s refusal (distinct from tar's, find's and the shell's own).
    public static let exitCode: Int32 = 97
    /// The prefix of `shell`'s one stderr line.
    public static let marker = "upshift-media-guard:"
    public static let variable = "INVENTREE_MEDIA_ROOT"

    /// Guard for scripts that write the media tree; runs after `MediaTree.prelude` (which sets `$m`). Values
    /// come from the container's environment; nothing is interpolated.
    public static let shell = #"""
        upshift_refuse() { printf '%s INVENTREE_MEDIA_ROOT=%s %s\n' "upshift-media-guard:" "$m" "$1" >&2; exit 97; }
        case "$m" in /*) ;; "") upshift_refuse "is empty" ;; *) upshift_refuse "is not an absolute path" ;; esac
        case "$m" in *[!/]*) ;; *) upshift_refuse "is the root directory /" ;; esac
        upshift_r=$(readlink -f -- "$m" 2>/dev/null)
        [ "$upshift_r" = / ] && upshift_refuse "resolves to the root directory /"
        for upshift_d in "${INVENTREE_DATA_DIR:-/home/inventree/data}" /home/inventree/data; do
            upshift_d=$(readlink -f -- "$upshift_d" 2>/dev/null) || continue
            [ -n "$upshift_r" ] && [ -n "$upshift_d" ] && case "$upshift_d/" in "$upshift_r"/*) upshift_refuse "is or contains the InvenTree data directory $upshift_d" ;; esac
        done
        if [ -d "$m" ]; then
            upshift_c=$(cd "$m" && find . -name PG_VERSION -print 2>/dev/null | head -n 1)
            [ -n "$upshift_c" ] && upshift_refuse "holds a PostgreSQL cluster ($m/${upshift_c#./})"
        fi

        """#

    /// Prints, NUL-separated, four fields per variable — name, `set` or empty, value, the folder compared
    /// (a file variable's parent) with links resolved — then `PG_VERSION` and the first such file below the
    /// media root. Both scripts search from inside the root (`cd` first), as the delete runs: a root that is a
    /// link to a folder holding a cluster is searched through the link.
    static let probe = #"""
        r() { p=""; if [ -n "$3" ]; then if [ "$4" = file ]; then p=$(dirname -- "$3"); else p=$3; fi; p=$(readlink -f -- "$p" 2>/dev/null); fi; printf '%s\0%s\0%s\0%s\0' "$1" "$2" "$3" "$p"; }
        r INVENTREE_MEDIA_ROOT "${INVENTREE_MEDIA_ROOT+set}" "${INVENTREE_MEDIA_ROOT-/home/inventree/data/media}" dir
        r INVENTREE_DATA_DIR "${INVENTREE_DATA_DIR+set}" "${INVENTREE_DATA_DIR-/home/inventree/data}" dir
        r MOUNT set /home/inventree/data dir
        r INVENTREE_STATIC_ROOT "${INVENTREE_STATIC_ROOT+set}" "${INVENTREE_STATIC_ROOT-}" dir
        r INVENTREE_BACKUP_DIR "${INVENTREE_BACKUP_DIR+set}" "${INVENTREE_BACKUP_DIR-}" dir
        r INVENTREE_CONFIG_FILE "${INVENTREE_CONFIG_FILE+set}" "${INVENTREE_CONFIG_FILE-}" file
        r INVENTREE_SECRET_KEY_FILE "${INVENTREE_SECRET_KEY_FILE+set}" "${INVENTREE_SECRET_KEY_FILE-}" file
        m="${INVENTREE_MEDIA_ROOT-/home/inventree/data/media}"; c=""
        case "$m" in /*[!/]*) if [ -d "$m" ] && [ "$(readlink -f -- "$m")" != / ]; then c=$(cd "$m" && find . -name PG_VERSION -print 2>/dev/null | head -n 1); [ -n "$c" ] && c="$m/${c#./}"; fi ;; esac
        printf 'PG_VERSION\0\0%s\0\0' "$c"

        """#

    /// Preflight of `transfer --include-media`: both media roots, as each server image resolves them.
    /// - Throws: `UpshiftError.usage` (exit 64, nothing changed) naming the side, the variable, its value and
    ///   every reason.
    public static func check(source: InvenTreeEndpoint, target: InvenTreeEndpoint, progress: (String) -> Void) async throws {
        progress("resolving the media roots of both sides (\(variable)) in helper containers")
        async let sourceFacts = facts(source)
        async let targetFacts = facts(target)
        let (s, t) = try await (sourceFacts, targetFacts)
        for (role, endpoint, facts) in [("target", target, t), ("source", source, s)] {
            let found = reasons(facts)
            guard !found.isEmpty else { continue }
            let does = role == "target"
                ? "transfer --include-media writes the source's media there and, to undo the copy, empties that folder first: it would delete what else lives there"
                : "transfer --include-media copies that whole folder into the target's media: it would carry everything else there (the database cluster, the secret key) along"
            throw UpshiftError.usage(
                "the media root of the \(role) \(endpoint.project.name) (service \(endpoint.server)) is \(facts.display), which " + found.joined(separator: "; ") + ": \(does)",
                hint: "point \(variable) at a folder of its own (InvenTree's default: \(InvenTreeEndpoint.mediaDirectory)) in \(endpoint.directory)'s .env or compose file, move the media files there and restart that side; or transfer without --include-media; nothing was changed")
        }
    }

    /// Runs `probe` in a helper container of the endpoint's server image.
    public static func facts(_ endpoint: InvenTreeEndpoint) async throws -> MediaRootFacts {
        try parse(try await endpoint.shell(probe, timeout: .seconds(3600)).standardOutput)
    }

    static func parse(_ output: Data) throws -> MediaRootFacts {
        let fields = output.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var facts = MediaRootFacts(value: nil, physical: nil, protected: [], clusterFile: nil)
        var index = 0
        var sawRoot = false
        while index + 3 < fields.count {
            let (name, state, value, physical) = (fields[index], fields[index + 1], fields[index + 2], fields[index + 3])
            index += 4
            switch name {
            case variable:
                sawRoot = true
                facts.value = state == "set" ? value : nil
                facts.physical = physical.isEmpty ? nil : physical
            case "PG_VERSION":
                facts.clusterFile = value.isEmpty ? nil : value
            default:
                guard state == "set", !value.isEmpty else { continue }
                facts.protected.append(MediaRootFacts.Protected(name: name, value: value, physical: physical.isEmpty ? nil : physical))
            }
        }
        guard sawRoot else { throw UpshiftError("cannot read where \(variable) points: the helper container printed no answer") }
        return facts
    }

    /// Why a media root must not be emptied or written into; empty when it is a folder of its own.
    public static func reasons(_ facts: MediaRootFacts) -> [String] {
        let root = facts.root
        if root.isEmpty { return ["is empty"] }
        guard root.hasPrefix("/") else { return ["is not an absolute path"] }
        let lexical = components(root)
        let physical = facts.physical.map(components)
        if lexical.isEmpty { return ["is the root directory /"] }
        if physical?.isEmpty == true { return ["resolves to the root directory /"] }
        var found: [String] = []
        if lexical.count < 2 || (physical.map { $0.count < 2 } ?? false) {
            found.append("has fewer than two path components")
        }
        // Grouped by how they relate to the root; a folder already named is not named again (the mount point
        // is InvenTree's data directory in every stock deployment).
        var same: [String] = [], contains: [String] = [], holds: [String] = []
        var named = Set<[String]>()
        let roots = [lexical] + (physical.map { [$0] } ?? [])
        for entry in facts.protected where entry.folder.hasPrefix("/") {
            let folder = components(entry.folder)
            let folders = [folder] + (entry.physical.map { [components($0)] } ?? [])
            let isSame = roots.contains { r in folders.contains { $0 == r } }
            let isBelow = roots.contains { r in folders.contains { $0.count > r.count && Array($0.prefix(r.count)) == r } }
            guard isSame || isBelow else { continue }
            if entry.isMount && named.contains(folder) { continue }
            named.insert(folder)
            if entry.isFile { holds.append(entry.label) } else if isSame { same.append(entry.label) } else { contains.append(entry.label) }
        }
        for (phrase, labels) in [("is the same folder as", same), ("contains", contains), ("holds", holds)] where !labels.isEmpty {
            found.append("\(phrase) " + labels.joined(separator: " and "))
        }
        if let cluster = facts.clusterFile { found.append("holds a PostgreSQL cluster (PG_VERSION at \(cluster))") }
        return found
    }

    /// Path components with `.`, `..` and repeated slashes resolved lexically (`..` never climbs above `/`).
    static func components(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { if !out.isEmpty { out.removeLast() } } else { out.append(String(part)) }
        }
        return out
    }

    /// The refusal of `shell` in a finished helper container, as an error naming the side and the way out;
    /// `nil` for any other outcome.
    public static func scriptRefusal(_ result: CommandResult, project: String, server: String, directory: String, redactor: Redactor) -> UpshiftError? {
        guard result.termination == .exited(exitCode),
              let line = result.stderrText.split(whereSeparator: \.isNewline).last(where: { $0.contains(marker) })
        else { return nil }
        let reason = redactor.redact(String(line[line.range(of: marker)!.upperBound...]).trimmingCharacters(in: .whitespaces))
        return UpshiftError(
            "refused to write into or empty the media root of \(project) (service \(server)): \(reason) (upshift's guard in the helper container, exit \(exitCode); nothing in it was touched)",
            hint: "point \(variable) at a folder of its own (InvenTree's default: \(InvenTreeEndpoint.mediaDirectory)) in \(directory)'s .env or compose file, then run the same command again")
    }
}

/// What a helper container of the server image says about the media root and the folders around it.
public struct MediaRootFacts: Sendable, Hashable {
    /// A folder that must never be the media root or inside it.
    public struct Protected: Sendable, Hashable {
        /// The variable (`INVENTREE_DATA_DIR`, `INVENTREE_CONFIG_FILE` …), or `MOUNT` for /home/inventree/data,
        /// where InvenTree's compose file mounts the data volume.
        public var name: String
        /// The variable's value (for a file variable, the file).
        public var value: String
        /// The folder compared with the root (a file variable's parent).
        public var folder: String
        /// `folder` with links resolved in the container, when it exists.
        public var physical: String?

        public init(name: String, value: String, physical: String? = nil) {
            self.name = name
            self.value = value
            self.folder = name.hasSuffix("_FILE") ? (value as NSString).deletingLastPathComponent : value
            self.physical = physical
        }

        var isFile: Bool { name.hasSuffix("_FILE") }
        var isMount: Bool { name == "MOUNT" }
        var label: String { isMount ? "the data volume's mount point \(value)" : "\(name) (\(value))" }
    }

    /// `INVENTREE_MEDIA_ROOT` as set; `nil` when unset (InvenTree's default applies).
    public var value: String?
    /// The root with links resolved in the container, when it exists.
    public var physical: String?
    public var protected: [Protected]
    /// The first `PG_VERSION` file found below the root.
    public var clusterFile: String?

    public var root: String { value ?? InvenTreeEndpoint.mediaDirectory }

    /// `INVENTREE_MEDIA_ROOT=/x` (with where links lead, when elsewhere), or the default when unset.
    public var display: String {
        let base = value.map { "\(MediaRootGuard.variable)=\($0)" } ?? "\(MediaRootGuard.variable) (unset: \(root))"
        guard let physical, MediaRootGuard.components(physical) != MediaRootGuard.components(root) else { return base }
        return base + " (resolving to \(physical))"
    }
}
