/// Masks a known, guessable secret (`x`, `postgres`) only where it stands as a value, so the rest of the
/// text — `postgres:15`, `/var/lib/postgresql/data`, every other `x` — stays as it is.
///
/// A value position is the whole secret (as is, JSON-escaped, or with compose's `$$`) right after
/// - a secret-named key (`ResolvedConfigMask.isSecretName`) and `=` or `:`, each side optionally quoted,
///   also JSON-escaped (`PGPASSWORD=x`, `"POSTGRES_PASSWORD": "x"`, `\"…PASSWORD\":\"x\"`, `password='x'`,
///   `--password=x`), ending at the end of the text, a space, a quote, `\`, `,`, `;`, `&`, `@`, `)`, `}`,
///   `]` or `>` (so `PASSWORD=xyz` is not one for `x`);
/// - URL userinfo `//user:`, followed by `@`;
/// - SQL `PASSWORD '` or `PASSWORD E'`, followed by `'`.
enum SecretValuePositions {
    static func mask(_ secret: String, in text: String) -> String {
        var result = text
        var forms = [secret]
        for form in [Redactor.jsonEscaped(secret), secret.replacingOccurrences(of: "$", with: "$$")] where !forms.contains(form) {
            forms.append(form)
        }
        for form in forms.sorted(by: { $0.count > $1.count }) where result.contains(form) {
            result = mask(form: form, in: result)
        }
        return result
    }

    private static let terminators = Set<Character>(" \t\r\n\"'\\,;&@)}]>")

    private static func mask(form: String, in text: String) -> String {
        var out = ""
        var position = text.startIndex
        var searchFrom = text.startIndex
        while let range = text.range(of: form, range: searchFrom..<text.endIndex) {
            searchFrom = range.upperBound
            // The context is read in the original text, without copies: what precedes is the key, not a mask.
            guard isValuePosition(before: text[..<range.lowerBound], after: text[range.upperBound...]) else { continue }
            out += text[position..<range.lowerBound]
            out += Redactor.mask
            position = range.upperBound
        }
        return out + text[position...]
    }

    static func isValuePosition(before: Substring, after: Substring) -> Bool {
        let ends = after.first.map { terminators.contains($0) } ?? true
        if ends, afterSecretNamedKey(before) { return true }
        if after.first == "@", inURLUserinfo(before) { return true }
        if after.first == "'", afterSQLPassword(before) { return true }
        return false
    }

    /// `NAME=`, `NAME: `, `"NAME":"`, `\"NAME\" : \"`, `NAME='` … with NAME secret-named.
    private static func afterSecretNamedKey(_ before: Substring) -> Bool {
        var rest = dropQuote(before)
        rest = rest.dropLastWhile { $0 == " " || $0 == "\t" }
        guard let sign = rest.last, sign == "=" || sign == ":" else { return false }
        rest = dropQuote(rest.dropLast().dropLastWhile { $0 == " " || $0 == "\t" })
        let name = rest.suffixWhile { CredentialText.isNameCharacter($0) }.drop { $0 == "-" }
        return !name.isEmpty && ResolvedConfigMask.isSecretName(String(name))
    }

    private static func inURLUserinfo(_ before: Substring) -> Bool {
        guard before.last == ":" else { return false }
        let user = before.dropLast().suffixWhile { !($0 == "/" || $0 == "@" || $0 == ":" || $0.isWhitespace || $0 == "\"" || $0 == "'") }
        return before.dropLast().dropLast(user.count).hasSuffix("//")
    }

    private static func afterSQLPassword(_ before: Substring) -> Bool {
        guard before.last == "'" else { return false }
        var rest = before.dropLast()
        if rest.last == "E" || rest.last == "e" { rest = rest.dropLast() }
        let spaces = rest.suffixWhile { $0 == " " || $0 == "\t" }
        guard !spaces.isEmpty else { return false }
        return rest.dropLast(spaces.count).uppercased().hasSuffix("PASSWORD")
    }

    /// Drops one closing quote (`"` or `'`), and the `\` before it when JSON-escaped.
    private static func dropQuote(_ text: Substring) -> Substring {
        guard let last = text.last, last == "\"" || last == "'" else { return text }
        let rest = text.dropLast()
        return rest.last == "\\" ? rest.dropLast() : rest
    }
}

extension Substring {
    fileprivate func dropLastWhile(_ predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }

    fileprivate func suffixWhile(_ predicate: (Character) -> Bool) -> Substring {
        var start = endIndex
        while start > startIndex, predicate(self[index(before: start)]) { start = index(before: start) }
        return self[start..<endIndex]
    }
}
