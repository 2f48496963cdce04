/// The installed compose and how to invoke it.
///
/// Compose went from v2.40 straight to v5.0 (there is no v3/v4), so nothing may assume `major == 2`:
/// anything at 2 or above speaks the same CLI. v1 (the Python `docker-compose` 1.x) lacks
/// `config --format json`, `ps --format json` and `--progress`, so it is refused.
public struct ComposeVersion: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// As printed by `version --short` (may carry a vendor suffix such as `-desktop.2`).
    public var raw: String

    public init(major: Int, minor: Int, patch: Int, raw: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.raw = raw ?? "\(major).\(minor).\(patch)"
    }

    /// Parses `5.6.1`, `v2.2.3`, `2.27.0-desktop.2`, or the long `docker-compose version 1.29.2, build …`.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // Find the first "digits.digits" run anywhere in the text (the long forms have a prefix).
        let chars = Array(trimmed)
        var start = 0
        while start < chars.count {
            if chars[start].isNumber, start == 0 || !chars[start - 1].isNumber {
                var end = start
                while end < chars.count, chars[end].isNumber || chars[end] == "." { end += 1 }
                let parts = String(chars[start..<end]).split(separator: ".").compactMap { Int($0) }
                if parts.count >= 2 {
                    self.init(major: parts[0], minor: parts[1], patch: parts.count > 2 ? parts[2] : 0, raw: trimmed)
                    return
                }
                start = end
            } else {
                start += 1
            }
        }
        return nil
    }

    /// Top-level `--progress` exists since v2.19.
    public var supportsProgressFlag: Bool { self >= ComposeVersion(major: 2, minor: 19, patch: 0) }
    /// `ps --format json` prints one object per line since v2.21 (before: one array).
    public var psPrintsNDJSON: Bool { self >= ComposeVersion(major: 2, minor: 21, patch: 0) }

    public static func < (a: ComposeVersion, b: ComposeVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public static func == (a: ComposeVersion, b: ComposeVersion) -> Bool {
        (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
    }

    public var description: String { raw }
}

/// Which compose program answers: the docker CLI plugin or the standalone binary.
public struct ComposeTool: Sendable, Hashable, Codable {
    public enum Flavor: String, Sendable, Hashable, Codable {
        /// `docker compose …`
        case plugin
        /// `docker-compose …` (a v2+ standalone binary: same CLI as the plugin).
        case standalone
    }

    public var flavor: Flavor
    public var version: ComposeVersion

    public init(flavor: Flavor, version: ComposeVersion) {
        self.flavor = flavor
        self.version = version
    }

    /// The program and the words before compose's own flags.
    public var executable: String { flavor == .plugin ? "docker" : "docker-compose" }
    public var prefix: [String] { flavor == .plugin ? ["compose"] : [] }
}
