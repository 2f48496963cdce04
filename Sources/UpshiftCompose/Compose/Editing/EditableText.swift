import Foundation

/// A file as lines of bytes with their exact terminators, so one line can be replaced and every other
/// byte (BOM, CRLF, missing final newline, invalid UTF-8 elsewhere) written back unchanged.
struct EditableText {
    struct Line {
        /// Byte range of the content, without terminator (and without a BOM on line 1).
        var content: Range<Int>
        /// `\n`, `\r\n`, or empty for a last line without newline.
        var terminator: [UInt8]
    }

    let bytes: [UInt8]
    let lines: [Line]
    let hasBOM: Bool

    init(_ data: Data) {
        bytes = [UInt8](data)
        hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        var lines: [Line] = []
        var start = hasBOM ? 3 : 0
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                let crlf = index > start && bytes[index - 1] == UInt8(ascii: "\r")
                lines.append(Line(content: start..<(crlf ? index - 1 : index), terminator: crlf ? [13, 10] : [10]))
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count { lines.append(Line(content: start..<bytes.count, terminator: [])) }
        self.lines = lines
    }

    /// True when some lines end with CRLF and others with LF.
    var mixesLineEndings: Bool {
        let kinds = Set(lines.compactMap { $0.terminator.isEmpty ? nil : $0.terminator.count })
        return kinds.count > 1
    }

    /// The content of 1-based line `number` as text, or nil when it is not valid UTF-8.
    func text(_ number: Int) -> String? {
        String(validating: bytes[lines[number - 1].content], as: UTF8.self)
    }

    /// Every line decoded where possible (for scanning for duplicates); undecodable lines are nil.
    var texts: [String?] { (1...max(lines.count, 1)).map { lines.isEmpty ? nil : text($0) } }

    /// The file with line `number`'s content replaced; terminator and all other bytes untouched.
    func replacing(line number: Int, with text: String) -> Data {
        let range = lines[number - 1].content
        var result = Array(bytes[..<range.lowerBound])
        result.append(contentsOf: Array(text.utf8))
        result.append(contentsOf: bytes[range.upperBound...])
        return Data(result)
    }
}
