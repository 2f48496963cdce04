import Foundation
import UpshiftCompose
import UpshiftSupport

/// Adds `PGDATA: <path>` to the database service's environment in its compose file, by inserting one
/// line (and an `environment:` key when the service has none) next to the service's `image:` line — or
/// changes the value of the literal `PGDATA` entry already there.
///
/// A line edit, not a YAML rewrite: everything else in the file stays byte for byte, and the caller
/// re-reads the project with `docker compose config` and reverts the file when the result is not exactly
/// the intended one. Forms it cannot edit safely (flow-style `environment: {…}`, a PGDATA already there
/// when adding, a PGDATA set through a variable or an `env_file` when changing) are refused.
public enum PGDATAPin {
    /// Applies `edit` to the compose file `contents` whose service block holds the `image:` line `imageLine`.
    public static func apply(_ edit: PGDATAEdit, to contents: String, imageLine: Int) throws -> String {
        switch edit {
        case .add(let value): return try apply(to: contents, imageLine: imageLine, pgdata: value)
        case .replace(let old, let new): return try replace(in: contents, imageLine: imageLine, old: old, new: new)
        }
    }

    /// Changes the literal value of the service's `PGDATA` entry (`PGDATA: old`, `- PGDATA=old`, quoted or
    /// not) to `new`, keeping the line's form and quotes.
    public static func replace(in contents: String, imageLine: Int, old: String, new: String) throws -> String {
        let newline = contents.contains("\r\n") ? "\r\n" : "\n"
        var lines = contents.components(separatedBy: newline)
        let (start, end, _) = try serviceBlock(lines, imageLine: imageLine)
        let normalizedOld = DataLocation.normalize(old)
        for index in start..<end {
            let line = lines[index]
            let text = line.trimmingCharacters(in: .whitespaces)
            var body = Substring(text)
            var listForm = false
            if body.hasPrefix("- ") { body = body.dropFirst(2).drop(while: { $0 == " " }); listForm = true }
            let quote: Character? = body.first == "\"" || body.first == "'" ? body.first : nil
            if listForm, let quote { body = body.dropFirst(); guard body.hasSuffix(String(quote)) else { continue }; body = body.dropLast() }
            let key = listForm ? "PGDATA=" : "PGDATA:"
            guard body.hasPrefix(key) else { continue }
            var value = body.dropFirst(key.count).trimmingCharacters(in: .whitespaces)
            if !listForm, let comment = value.range(of: " #") { value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces) }
            if !listForm, let first = value.first, first == "\"" || first == "'", value.count >= 2, value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard DataLocation.normalize(value) == normalizedOld, !value.contains("$") else {
                throw UpshiftError.usage(
                    "the PGDATA entry on line \(index + 1) of the compose file is not the literal \(old) (it reads \(text))",
                    hint: "write PGDATA as a literal path in the service's environment, then run again")
            }
            guard let range = line.range(of: value, options: .backwards) else { break }
            lines[index] = line.replacingCharacters(in: range, with: new)
            return lines.joined(separator: newline)
        }
        throw UpshiftError.usage(
            "PGDATA of the database service is not set literally in its compose file (it comes from a variable, an env_file or another file)",
            hint: "write `PGDATA: \(old)` in the service's environment next to its image line, then run again")
    }

    /// The lines of the service block around `imageLine` (start..<end) and the image line's indent.
    static func serviceBlock(_ lines: [String], imageLine: Int) throws -> (Int, Int, Int) {
        let imageIndex = imageLine - 1
        guard lines.indices.contains(imageIndex), let imageIndent = indentOf(lines[imageIndex]),
              lines[imageIndex].trimmingCharacters(in: .whitespaces).hasPrefix("image:")
        else {
            throw UpshiftError.usage("line \(imageLine) is not the service's image line; cannot edit PGDATA")
        }
        var start = imageIndex
        while start > 0 {
            let previous = lines[start - 1]
            if isBlankOrComment(previous) { start -= 1; continue }
            guard let indent = indentOf(previous), indent >= imageIndent else { break }
            start -= 1
        }
        var end = imageIndex + 1
        while end < lines.count {
            let line = lines[end]
            if isBlankOrComment(line) { end += 1; continue }
            guard let indent = indentOf(line), indent >= imageIndent else { break }
            end += 1
        }
        return (start, end, imageIndent)
    }

    public static func apply(to contents: String, imageLine: Int, pgdata: String) throws -> String {
        let newline = contents.contains("\r\n") ? "\r\n" : "\n"
        var lines = contents.components(separatedBy: newline)
        let imageIndex = imageLine - 1
        let (start, end, imageIndent) = try serviceBlock(lines, imageLine: imageLine)
        let pad = String(repeating: " ", count: imageIndent)
        for index in start..<end where indentOf(lines[index]) == imageIndent {
            let text = lines[index].trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("environment:") else { continue }
            let rest = text.dropFirst("environment:".count).trimmingCharacters(in: .whitespaces)
            guard rest.isEmpty || rest.hasPrefix("#") else {
                throw UpshiftError.usage("the environment of the database service is written inline (\(text)); upshift cannot add PGDATA to it safely", hint: "write it as a block (one variable per line), then run again")
            }
            // The first entry decides indentation and form (map or list).
            var entry = index + 1
            while entry < end, isBlankOrComment(lines[entry]) { entry += 1 }
            guard entry < end, let entryIndent = indentOf(lines[entry]), entryIndent > imageIndent else {
                lines.insert(pad + "  PGDATA: " + pgdata, at: index + 1)
                return lines.joined(separator: newline)
            }
            for probe in (index + 1)..<end where indentOf(lines[probe]) == entryIndent {
                let key = lines[probe].trimmingCharacters(in: .whitespaces)
                if key.hasPrefix("PGDATA:") || key.hasPrefix("- PGDATA=") || key.hasPrefix("- \"PGDATA=") {
                    throw UpshiftError.usage("the database service already sets PGDATA on line \(probe + 1)")
                }
            }
            let entryPad = String(repeating: " ", count: entryIndent)
            let isList = lines[entry].trimmingCharacters(in: .whitespaces).hasPrefix("-")
            lines.insert(entryPad + (isList ? "- PGDATA=" + pgdata : "PGDATA: " + pgdata), at: index + 1)
            return lines.joined(separator: newline)
        }
        lines.insert(contentsOf: [pad + "environment:", pad + "  PGDATA: " + pgdata], at: imageIndex + 1)
        return lines.joined(separator: newline)
    }

    static func isBlankOrComment(_ line: String) -> Bool {
        let text = line.trimmingCharacters(in: .whitespaces)
        return text.isEmpty || text.hasPrefix("#")
    }

    /// Leading spaces; `nil` for a line indented with tabs (YAML forbids them, and guessing is unsafe).
    static func indentOf(_ line: String) -> Int? {
        var count = 0
        for character in line {
            if character == " " { count += 1 } else if character == "\t" { return nil } else { break }
        }
        return count
    }
}
