import Foundation

/// One `.env` assignment (`NAME=value`, `export NAME=value`, `NAME: value`, quoted or not, with an
/// optional comment), parsed just enough to replace the value and keep everything else as written.
struct EnvAssignmentLine: Equatable {
    var name: String
    var value: String
    /// The value's range in the line, quotes excluded.
    var valueRange: Range<String.Index>
    var quoted: Bool

    enum Failure: Error, Equatable {
        case notAssignment
        case multiline
        case quoting
    }

    /// The variable name a line assigns, if it looks like an assignment at all (for counting duplicates).
    static func assignedName(_ line: String) -> String? {
        var rest = Substring(line).drop { $0 == " " || $0 == "\t" }
        if rest.hasPrefix("export ") || rest.hasPrefix("export\t") { rest = rest.dropFirst(7).drop { $0 == " " || $0 == "\t" } }
        guard let first = rest.first, first == "_" || (first.isASCII && first.isLetter) else { return nil }
        let name = rest.prefix { $0 == "_" || (($0.isASCII) && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" }
        let after = rest.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
        guard after.hasPrefix("=") || after.hasPrefix(":") else { return nil }
        return String(name)
    }

    static func parse(_ line: String) throws -> EnvAssignmentLine {
        var i = line.startIndex
        func skipBlanks() { while i < line.endIndex, line[i] == " " || line[i] == "\t" { i = line.index(after: i) } }
        skipBlanks()
        if line[i...].hasPrefix("export"), let next = line.index(i, offsetBy: 6, limitedBy: line.endIndex), next < line.endIndex, line[next] == " " || line[next] == "\t" {
            i = next
            skipBlanks()
        }
        let nameStart = i
        while i < line.endIndex, line[i] == "_" || line[i] == "." || line[i] == "-" || (line[i].isASCII && (line[i].isLetter || line[i].isNumber)) {
            i = line.index(after: i)
        }
        let name = String(line[nameStart..<i])
        guard !name.isEmpty else { throw Failure.notAssignment }
        skipBlanks()
        guard i < line.endIndex else { throw Failure.notAssignment }
        if line[i] == "=" {
            i = line.index(after: i)
        } else if line[i] == ":" {
            i = line.index(after: i)
            guard i == line.endIndex || line[i] == " " || line[i] == "\t" else { throw Failure.notAssignment }
        } else {
            throw Failure.notAssignment
        }
        skipBlanks()
        let start = i
        guard i < line.endIndex else { return EnvAssignmentLine(name: name, value: "", valueRange: start..<start, quoted: false) }
        let first = line[i]
        let result: EnvAssignmentLine
        if first == "\"" || first == "'" {
            let open = line.index(after: i)
            guard let close = line[open...].firstIndex(of: first) else { throw Failure.multiline }
            let inner = line[open..<close]
            if first == "\"" && inner.contains("\\") { throw Failure.quoting }
            result = EnvAssignmentLine(name: name, value: String(inner), valueRange: open..<close, quoted: true)
            i = line.index(after: close)
            skipBlanks()
            guard i == line.endIndex || line[i] == "#" else { throw Failure.quoting }
        } else {
            var end = i
            var j = i
            while j < line.endIndex {
                if line[j] == "#", j > start, line[line.index(before: j)] == " " || line[line.index(before: j)] == "\t" { break }
                if line[j] != " " && line[j] != "\t" { end = line.index(after: j) }
                j = line.index(after: j)
            }
            let value = String(line[start..<end])
            if value.contains("\"") || value.contains("'") { throw Failure.quoting }
            result = EnvAssignmentLine(name: name, value: value, valueRange: start..<end, quoted: false)
        }
        return result
    }
}
