import Foundation

/// An InvenTree release number (`0.17.0`, `1.0.0`, `1.5.0 dev`), comparable, so upshift can pick the task
/// flags of the running version, refuse downgrades and name required stop-over releases.
public struct InvenTreeVersion: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// Anything after the numbers (`dev`), kept for display; ignored when comparing.
    public var suffix: String

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0, suffix: String = "") {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.suffix = suffix
    }

    /// Parses `1.0.0`, `0.17`, `v1.2.3`, `1.5.0 dev`, `1.0.0-rc1`. `nil` for moving tags (`stable`, `latest`).
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("v") { rest = rest.dropFirst() }
        guard let first = rest.first, first.isNumber else { return nil }
        let numberPart = rest.prefix { $0.isNumber || $0 == "." }
        let numbers = numberPart.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard !numbers.isEmpty, numbers.count <= 3, numbers.allSatisfy({ $0 != nil }) else { return nil }
        let values = numbers.map { $0! }
        self.init(values[0], values.count > 1 ? values[1] : 0, values.count > 2 ? values[2] : 0,
                  suffix: String(rest.dropFirst(numberPart.count)).trimmingCharacters(in: CharacterSet(charactersIn: " -")))
    }

    public var description: String { "\(major).\(minor).\(patch)" + (suffix.isEmpty ? "" : " \(suffix)") }

    public static func < (a: InvenTreeVersion, b: InvenTreeVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public static func == (a: InvenTreeVersion, b: InvenTreeVersion) -> Bool {
        (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
    }

    public func atLeast(_ major: Int, _ minor: Int = 0, _ patch: Int = 0) -> Bool {
        self >= InvenTreeVersion(major, minor, patch)
    }

    /// The release every pre-1.0 database must pass through (reference §7.4: the migration history was
    /// squashed in the 1.0 cycle; skipping 1.0.x "is not supported and will fail").
    public static let requiredStopOver = InvenTreeVersion(1, 0, 0)

    /// A stop-over release needed between `self` and `target`, if any.
    public func stopOver(to target: InvenTreeVersion) -> InvenTreeVersion? {
        let stop = Self.requiredStopOver
        guard self < stop, target.major > stop.major || (target.major == stop.major && target.minor > stop.minor) else { return nil }
        return stop
    }

    /// Reads the `InvenTree   X.Y.Z` line of `invoke version` (ANSI colours stripped first).
    public static func fromVersionOutput(_ output: String) -> InvenTreeVersion? {
        for line in InvokeOutput.stripANSI(output).split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "InvenTree", let version = InvenTreeVersion(parsing: words[1...].joined(separator: " ")) else { continue }
            return version
        }
        return nil
    }
}

/// Helpers for the text InvenTree's tasks print (coloured with ANSI escapes, on stdout).
public enum InvokeOutput {
    /// Removes `ESC [ … letter` sequences.
    public static func stripANSI(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        var iterator = text.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "\u{1B}" {
                guard let next = iterator.next() else { break }
                if next == "[" {
                    while let c = iterator.next() { if (0x40...0x7E).contains(c.value) { break } }
                }
                continue
            }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// The last few meaningful lines, for error messages.
    public static func tail(_ text: String, lines count: Int = 8) -> String {
        let lines = stripANSI(text).split(whereSeparator: \.isNewline).map(String.init).filter { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // compose's own progress lines ("Container x-run-… Creating") say nothing about the task.
            return !trimmed.isEmpty && !(trimmed.hasPrefix("Container ") && line.hasPrefix(" "))
        }
        return lines.suffix(count).joined(separator: "\n")
    }
}
