import Foundation

/// One `image:` line of a compose file, parsed just enough to replace its value and nothing else:
/// indentation, key, quotes and trailing comment are kept as written.
struct ComposeImageLine: Equatable {
    enum Quote: Equatable { case none, single, double }

    /// The value without quotes.
    var value: String
    /// The value's range in the line, quotes excluded.
    var valueRange: Range<String.Index>
    var quote: Quote

    enum Failure: Error, Equatable {
        case notImageLine
        case anchorOrAlias
        case flowOrBlock
        case quoting
    }

    /// Parses `[indent][- ]image[ ]: [&…|*…|"v"|'v'|v][ # comment]`.
    static func parse(_ line: String) throws -> ComposeImageLine {
        var i = line.startIndex
        func skipBlanks() { while i < line.endIndex, line[i] == " " || line[i] == "\t" { i = line.index(after: i) } }
        skipBlanks()
        if line[i...].hasPrefix("- ") { i = line.index(i, offsetBy: 2); skipBlanks() }
        var keyMatched = false
        for key in ["image", "\"image\"", "'image'"] where line[i...].hasPrefix(key) {
            i = line.index(i, offsetBy: key.count)
            keyMatched = true
            break
        }
        guard keyMatched else {
            if line[i...].hasPrefix("<<") { throw Failure.anchorOrAlias }
            throw Failure.notImageLine
        }
        skipBlanks()
        guard i < line.endIndex, line[i] == ":" else { throw Failure.notImageLine }
        i = line.index(after: i)
        let afterColon = i
        skipBlanks()
        guard i > afterColon || i == line.endIndex else { throw Failure.notImageLine } // `image:x` is not a key
        guard i < line.endIndex, line[i] != "#" else { throw Failure.flowOrBlock } // value on later lines
        let start = i
        let first = line[i]
        let result: ComposeImageLine
        switch first {
        case "&", "*", "!": throw Failure.anchorOrAlias
        case "{", "[", "|", ">": throw Failure.flowOrBlock
        case "\"", "'":
            let open = line.index(after: i)
            guard let close = line[open...].firstIndex(of: first) else { throw Failure.quoting }
            let inner = line[open..<close]
            if first == "\"" && inner.contains("\\") { throw Failure.quoting }
            let after = line.index(after: close)
            if first == "'" && after < line.endIndex && line[after] == "'" { throw Failure.quoting } // '' escape
            result = ComposeImageLine(value: String(inner), valueRange: open..<close, quote: first == "\"" ? .double : .single)
            i = after
        default:
            var end = i
            var j = i
            while j < line.endIndex {
                if line[j] == "#", j > start, line[line.index(before: j)] == " " || line[line.index(before: j)] == "\t" { break }
                if line[j] != " " && line[j] != "\t" { end = line.index(after: j) }
                j = line.index(after: j)
            }
            let value = String(line[start..<end])
            if value.contains(": ") || value.hasSuffix(":") || value.contains(" ") { throw Failure.notImageLine }
            result = ComposeImageLine(value: value, valueRange: start..<end, quote: .none)
            i = end
        }
        // Only blanks and a comment may follow.
        skipBlanks()
        guard i == line.endIndex || line[i] == "#" else { throw Failure.flowOrBlock }
        return result
    }

    /// Indentation width (spaces and tabs) of a line, or nil for blank and comment-only lines.
    static func indentation(_ line: String) -> Int? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        return line.count - trimmed.count
    }
}
