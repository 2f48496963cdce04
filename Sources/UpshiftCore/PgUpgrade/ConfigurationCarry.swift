import Foundation

/// Which of the old cluster's `postgresql.conf` / `postgresql.auto.conf` settings the new cluster gets.
///
/// pg_upgrade carries data, not configuration: the new cluster starts with initdb's defaults, and a tuned
/// `shared_buffers` or a `ALTER SYSTEM SET work_mem` would silently be lost. Carried: every active setting
/// whose value differs from the new file's and whose name the new server knows. Dropped, and reported:
/// names the new major removed (the server would refuse to start on them), paths that point into the old
/// cluster (`data_directory`, `hba_file`, `ident_file`, `config_file`), and `include` directives.
public enum ConfigurationCarry {
    public struct Setting: Sendable, Hashable {
        public var name: String
        public var value: String
        /// The line as written, comment removed.
        public var line: String
    }

    public struct Result: Sendable, Hashable {
        /// Lines to append to the new file (empty when nothing is carried).
        public var appendix: String
        public var carried: [String]
        public var dropped: [String]
    }

    static let neverCarried: Set<String> = ["data_directory", "hba_file", "ident_file", "config_file", "include", "include_dir", "include_if_exists"]

    /// Active settings of a configuration file, later lines winning like the server reads them.
    public static func activeSettings(_ text: String) -> [Setting] {
        var result: [Setting] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            let name: String
            let rest: Substring
            if let eq = line.firstIndex(of: "=") {
                name = line[..<eq].trimmingCharacters(in: .whitespaces)
                rest = line[line.index(after: eq)...]
            } else if let space = line.firstIndex(where: \.isWhitespace) {
                name = String(line[..<space])
                rest = line[space...]
            } else {
                continue
            }
            guard !name.isEmpty, !name.contains(where: \.isWhitespace) else { continue }
            let value = unquote(rest.trimmingCharacters(in: .whitespaces))
            result.removeAll { $0.name.lowercased() == name.lowercased() }
            result.append(Setting(name: name.lowercased(), value: value, line: line))
        }
        return result
    }

    /// What to append to `new` so it carries `old`'s settings.
    public static func carry(old: String, new: String, known: Set<String>, label: String) -> Result {
        let current = Dictionary(activeSettings(new).map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        var carried: [Setting] = []
        var dropped: [String] = []
        for setting in activeSettings(old) {
            if current[setting.name] == setting.value { continue }
            if neverCarried.contains(setting.name) || (!known.isEmpty && !known.contains(setting.name) && !setting.name.contains(".")) {
                dropped.append(setting.name)
                continue
            }
            carried.append(setting)
        }
        guard !carried.isEmpty else { return Result(appendix: "", carried: [], dropped: dropped) }
        let body = carried.map(\.line).joined(separator: "\n")
        return Result(appendix: "\n# carried from \(label) by upshift\n" + body + "\n", carried: carried.map(\.name), dropped: dropped)
    }

    /// Parameter names from `postgres --describe-config` (tab-separated, name first).
    public static func knownNames(describeConfig output: String) -> Set<String> {
        Set(output.split(whereSeparator: \.isNewline).compactMap { line in
            line.split(separator: "\t", maxSplits: 1).first.map { $0.lowercased() }
        })
    }

    static func stripComment(_ line: String) -> String {
        var inQuote = false
        var previous: Character = " "
        for (offset, character) in line.enumerated() {
            if character == "'" && previous != "\\" { inQuote.toggle() }
            if character == "#" && !inQuote { return String(line.prefix(offset)) }
            previous = character
        }
        return line
    }

    static func unquote(_ value: String) -> String {
        guard value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") else { return value }
        return String(value.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
    }
}
