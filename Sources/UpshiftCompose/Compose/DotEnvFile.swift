import Foundation
import UpshiftSupport

/// A `.env` file read for two narrow purposes: the `COMPOSE_*` variables that select files and project
/// name (compose copies them into its environment before discovery), and the file/line that defines a
/// variable used in an `image:` value, so it can be changed later.
///
/// This is not an interpolation engine: values are taken as written (quotes removed, escapes in double
/// quotes decoded) and never expanded. Compose itself resolves the model; this only locates text.
public struct DotEnvFile: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var value: String
        /// 1-based line number of the definition.
        public var line: Int
        /// True when the value contains `$` and compose would expand it: the written text is not the value.
        public var containsExpansion: Bool
    }

    public var path: String
    public var entries: [Entry]

    public init(path: String, entries: [Entry]) {
        self.path = path
        self.entries = entries
    }

    /// Reads and parses `path`; `nil` when the file does not exist.
    public static func load(path: String) throws -> DotEnvFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UpshiftError("cannot read \(path)", hint: "check the file's permissions")
        }
        return DotEnvFile(path: path, text: String(decoding: data, as: UTF8.self))
    }

    public init(path: String, text: String) {
        self.path = path
        var entries: [Entry] = []
        for (index, line) in ComposeText.lines(text).enumerated() {
            if let entry = Self.parse(line: line, number: index + 1) { entries.append(entry) }
        }
        self.entries = entries
    }

    /// The last definition of `name` (compose: a later line overrides an earlier one).
    public func entry(_ name: String) -> Entry? { entries.last { $0.name == name } }

    /// Every definition of `name`; more than one means an edit would be ambiguous.
    public func definitions(of name: String) -> [Entry] { entries.filter { $0.name == name } }

    public var values: [String: String] {
        var result: [String: String] = [:]
        for entry in entries { result[entry.name] = entry.value }
        return result
    }

    static func parse(line rawLine: String, number: Int) -> Entry? {
        var line = Substring(rawLine)
        if number == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
        line = line.drop(while: { $0 == " " || $0 == "\t" })
        if line.isEmpty || line.hasPrefix("#") { return nil }
        if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop(while: { $0 == " " }) }
        guard let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
        let name = line[..<sep].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" })
        else { return nil }
        var rest = line[line.index(after: sep)...].drop(while: { $0 == " " || $0 == "\t" })
        var value: String
        var expands = false
        if rest.hasPrefix("'") {
            rest = rest.dropFirst()
            value = String(rest.prefix(while: { $0 != "'" }))
        } else if rest.hasPrefix("\"") {
            rest = rest.dropFirst()
            value = ""
            var escaped = false
            for ch in rest {
                if escaped {
                    switch ch {
                    case "n": value.append("\n")
                    case "t": value.append("\t")
                    case "r": value.append("\r")
                    default: value.append(ch)
                    }
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    break
                } else {
                    value.append(ch)
                }
            }
            expands = value.contains("$")
        } else {
            // An inline comment on an unquoted value needs whitespace before the '#'.
            var text = String(rest)
            if let range = text.range(of: #"\s#"#, options: .regularExpression) {
                text = String(text[..<range.lowerBound])
            }
            value = text.trimmingCharacters(in: .whitespaces)
            expands = value.contains("$")
        }
        return Entry(name: name, value: value, line: number, containsExpansion: expands)
    }
}
