import Foundation

/// Finds one password in text and files, the way a reader of upshift's output or files would find it.
///
/// Written independently of upshift's `Redactor` (it shares no code with it), so a gap in the masker cannot
/// hide itself in the check.
///
/// **The rule.** A password of 3 or more characters that is not a common word must not occur at all, in any
/// of the forms a tool may write it in: as is; JSON-escaped (`\"`, `\\`, `\n`, `\/`, `\uXXXX`); with compose's
/// `$$`; shell-quoted (`'\''`); as an SQL literal (`''`); percent-encoded; and, for a multi-line password,
/// line by line.
///
/// A 1–2 character password, or one equal to a word upshift prints anyway (`postgres` is in every image name),
/// cannot be held to "the letters never appear": `x` is in every other word. For those, and for every password
/// as well, the rule is that it never appears **as a value**: in any of the forms above, directly after
/// - a secret-named key and `=` or `:` (`PGPASSWORD=x`, `POSTGRES_PASSWORD: x`, `"POSTGRES_PASSWORD":"x"`,
///   `\"APP_DB_PASSWORD\" : \"x\"`, conninfo `password=x` or `password='x'`, `--password=x`), a key being
///   secret-named when it contains PASS, SECRET, TOKEN or CREDENTIAL;
/// - URL userinfo `scheme://user:` and followed by `@`;
/// - SQL `PASSWORD '` and followed by `'`;
/// and ending there (end of text, whitespace, a quote, `\`, `,`, `;`, `&`, `@`, `)`, `}`, `]`, `>`), so that
/// `PASSWORD=xyz` is not a finding for `x`.
///
/// Masking a common word in text reveals it by what is left (`/var/lib/******ql/data`), so for a value-only
/// password a mask glued to a letter or digit (`******ql`, `hpx-******`) is a finding too.
public struct SecretScan: Sendable {
    public let secret: String
    /// "secret #n": the only way the secret is named in a message.
    public let label: String
    public let valueOnly: Bool

    public init(secret: String, label: String, valueOnly: Bool) {
        self.secret = secret
        self.label = label
        self.valueOnly = valueOnly
    }

    public init(_ password: HostilePassword) {
        self.init(secret: password.value, label: password.label, valueOnly: password.valueOnly)
    }

    /// Where `label` was found: never the text around it, which would hold the secret.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        public var place: String
        public var line: Int
        public var how: String
        public var description: String { "\(place):\(line): \(how)" }
    }

    // MARK: - Forms

    /// Every spelling searched for, with the name shown in a finding.
    public var forms: [(name: String, text: String)] {
        var forms: [(String, String)] = [("as is", secret)]
        func add(_ name: String, _ text: String) {
            if !text.isEmpty, !forms.contains(where: { $0.1 == text }) { forms.append((name, text)) }
        }
        let json = Self.jsonEscaped(secret)
        add("JSON-escaped", json)
        add("JSON-escaped with \\/", json.replacingOccurrences(of: "/", with: "\\/"))
        add("JSON-escaped, non-ASCII as \\u (lower)", Self.asciiJSON(json, uppercase: false))
        add("JSON-escaped, non-ASCII as \\u (upper)", Self.asciiJSON(json, uppercase: true))
        let dollars = secret.replacingOccurrences(of: "$", with: "$$")
        add("with compose's $$", dollars)
        add("with compose's $$, JSON-escaped", Self.jsonEscaped(dollars))
        add("shell-quoted", secret.replacingOccurrences(of: "'", with: "'\\''"))
        add("shell-quoted (\"'\")", secret.replacingOccurrences(of: "'", with: "'\"'\"'"))
        add("SQL literal", secret.replacingOccurrences(of: "'", with: "''"))
        add("SQL E-literal", secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''"))
        add("percent-encoded", Self.percentEncoded(secret, uppercase: true))
        add("percent-encoded (lower hex)", Self.percentEncoded(secret, uppercase: false))
        let lines = secret.split(whereSeparator: \.isNewline).map(String.init)
        if lines.count > 1 { for (index, line) in lines.enumerated() { add("line \(index + 1) of it", line) } }
        return forms
    }

    /// The forms searched for anywhere: none for a value-only password, else those of 3 or more characters.
    var literalForms: [(name: String, text: String)] {
        valueOnly ? [] : forms.filter { $0.text.count >= 3 }
    }

    // MARK: - Scanning

    /// Every finding in `text`; `place` names it in the findings ("stdout of status", a file path).
    public func findings(in text: String, place: String) -> [Finding] {
        var found: [Finding] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var literal = literalForms
        // A line of a multi-line secret is searched for per line; the whole secret across lines as well.
        let multiLine = literal.filter { $0.text.contains("\n") }
        literal.removeAll { $0.text.contains("\n") }
        for form in multiLine where text.contains(form.text) {
            found.append(Finding(place: place, line: Self.lineNumber(of: form.text, in: text), how: "\(label) \(form.name)"))
        }
        for (index, line) in lines.enumerated() {
            let line = String(line)
            for form in literal where line.contains(form.text) {
                found.append(Finding(place: place, line: index + 1, how: "\(label) \(form.name)"))
            }
            for form in forms where !form.text.contains("\n") {
                for how in valuePositions(of: form.text, in: line) {
                    found.append(Finding(place: place, line: index + 1, how: "\(label) \(form.name) \(how)"))
                }
            }
            if valueOnly, let glued = Self.gluedMask(in: line) {
                found.append(Finding(place: place, line: index + 1, how: "a mask glued to a word (\(glued)): masking \(label) as text reveals it"))
            }
        }
        return Array(Set(found)).sorted { ($0.place, $0.line, $0.how) < ($1.place, $1.line, $1.how) }
    }

    /// Every finding in the regular files under `directory`, skipping relative paths for which `skip` is true.
    /// Returns the findings and how many files were read.
    public func findings(under directory: String, skip: (String) -> Bool = { _ in false }) -> (findings: [Finding], files: Int) {
        var found: [Finding] = []
        var files = 0
        for relative in Self.regularFiles(under: directory) where !skip(relative) {
            guard let data = FileManager.default.contents(atPath: directory + "/" + relative) else {
                found.append(Finding(place: relative, line: 0, how: "unreadable"))
                continue
            }
            files += 1
            // Bytes first, so a form split by invalid UTF-8 decoding is still found; then the text.
            for form in literalForms where data.range(of: Data(form.text.utf8)) != nil {
                found.append(Finding(place: relative, line: 0, how: "\(label) \(form.name) (bytes)"))
            }
            found += findings(in: String(decoding: data, as: UTF8.self), place: relative)
        }
        return (found, files)
    }

    /// How often the secret occurs as plain text (for a common word: to show it is printed, just never as a value).
    public func plainOccurrences(in text: String) -> Int {
        text.components(separatedBy: secret).count - 1
    }

    /// `text` with every literal form and every value position replaced by `<secret #n>`: safe to print in a
    /// test failure.
    public func masked(_ text: String) -> String {
        var out = text
        for form in literalForms.sorted(by: { $0.text.count > $1.text.count }) {
            out = out.replacingOccurrences(of: form.text, with: "<\(label)>")
        }
        return out.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = String(line)
            for form in forms where !form.text.contains("\n") {
                // From the end, so earlier ranges stay valid; each occurrence once.
                var seen = Set<Range<String.Index>>()
                for match in valuePositionMatches(of: form.text, in: line).reversed() where seen.insert(match.range).inserted {
                    line.replaceSubrange(match.range, with: "<\(label)>")
                }
            }
            return line
        }.joined(separator: "\n")
    }

    // MARK: - Value positions

    /// What precedes the secret when it stands as a value, with what must follow it.
    private static let introducers: [(name: String, pattern: String, closer: String?)] = [
        ("after a secret-named key", #"(?i)[A-Za-z0-9_.\-]*(?:PASS|SECRET|TOKEN|CREDENTIAL)[A-Za-z0-9_.\-]*(?:\\?["'])?[ \t]*[=:][ \t]*(?:\\?["'])?$"#, nil),
        ("as URL userinfo", #"://[^\s/@:'"]*:$"#, "@"),
        ("as an SQL PASSWORD literal", #"(?i)PASSWORD[ \t]+E?'$"#, "'"),
    ]
    private static let compiled: [(name: String, regex: NSRegularExpression, closer: String?)] = introducers.map {
        ($0.name, try! NSRegularExpression(pattern: $0.pattern), $0.closer)
    }
    private static let terminators = Set<Character>(" \t\r\n\"'\\,;&@)}]>")

    private func valuePositions(of form: String, in line: String) -> [String] {
        valuePositionMatches(of: form, in: line).map(\.how)
    }

    private func valuePositionMatches(of form: String, in line: String) -> [(how: String, range: Range<String.Index>)] {
        var matches: [(String, Range<String.Index>)] = []
        var start = line.startIndex
        while let range = line.range(of: form, range: start..<line.endIndex) {
            start = line.index(after: range.lowerBound)
            let before = String(line[..<range.lowerBound])
            let after = line[range.upperBound...]
            for introducer in Self.compiled {
                let ns = before as NSString
                guard introducer.regex.firstMatch(in: before, range: NSRange(location: 0, length: ns.length)) != nil else { continue }
                let ends: Bool
                if let closer = introducer.closer {
                    ends = after.hasPrefix(closer)
                } else {
                    ends = after.first.map { Self.terminators.contains($0) } ?? true
                }
                if ends { matches.append((introducer.name, range)) }
            }
        }
        return matches
    }

    /// `******` with a letter or digit right before or after it (not the `n` of a JSON `\n`): the rest of a
    /// word whose masked part is the secret. Returns the word with the mask, which holds no secret.
    static func gluedMask(in line: String) -> String? {
        let mask = "******"
        var start = line.startIndex
        while let range = line.range(of: mask, range: start..<line.endIndex) {
            start = range.upperBound
            var lower = range.lowerBound
            var upper = range.upperBound
            while upper < line.endIndex, line[upper] == "*" { upper = line.index(after: upper) }
            var glued = false
            if lower > line.startIndex {
                let previous = line.index(before: lower)
                let escaped = previous > line.startIndex && line[line.index(before: previous)] == "\\"
                if (line[previous].isLetter || line[previous].isNumber) && !escaped { glued = true }
            }
            if upper < line.endIndex, line[upper].isLetter || line[upper].isNumber { glued = true }
            guard glued else { continue }
            while lower > line.startIndex, line[line.index(before: lower)].isLetter || line[line.index(before: lower)].isNumber { lower = line.index(before: lower) }
            while upper < line.endIndex, line[upper].isLetter || line[upper].isNumber { upper = line.index(after: upper) }
            return String(line[lower..<upper])
        }
        return nil
    }

    // MARK: - Encodings (written here, not borrowed from upshift)

    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    static func asciiJSON(_ escaped: String, uppercase: Bool) -> String {
        var out = ""
        for scalar in escaped.unicodeScalars {
            if scalar.isASCII { out.unicodeScalars.append(scalar); continue }
            for unit in String(scalar).utf16 { out += String(format: uppercase ? "\\u%04X" : "\\u%04x", unit) }
        }
        return out
    }

    static func percentEncoded(_ text: String, uppercase: Bool) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        return text.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: uppercase ? "%%%02X" : "%%%02x", $0) }.joined()
    }

    static func lineNumber(of needle: String, in text: String) -> Int {
        guard let range = text.range(of: needle) else { return 0 }
        return text[..<range.lowerBound].filter { $0 == "\n" }.count + 1
    }

    static func regularFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }
}
