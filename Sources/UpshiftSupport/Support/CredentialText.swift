/// Masks credentials by where they stand, without knowing their value: the masking at the source for text
/// that comes from the user's configuration (a healthcheck, a command, an environment value) and may hold a
/// password upshift was never told about, or one too short to search for as text.
///
/// Three shapes are recognised:
/// - a word `NAME=value` whose name is secret-named (`PGPASSWORD=…`, `--password=…`): everything after `=`;
/// - libpq conninfo `password=value` (or `password='va lue'`) inside a longer text;
/// - URL userinfo `scheme://user:value@host`.
public enum CredentialText {
    /// One argv word or environment value, masked as a whole where it is `SECRET_NAME=value`: an exec-form
    /// word is one value however many spaces or quotes it holds.
    public static func maskWord(_ word: String) -> String {
        if let equals = word.firstIndex(of: "="), equals > word.startIndex {
            let name = word[..<equals].drop { $0 == "-" }
            if !name.isEmpty, name.allSatisfy(isNameCharacter), ResolvedConfigMask.isSecretName(String(name)) {
                return word[...equals] + Redactor.mask
            }
        }
        return maskText(word)
    }

    /// Free text (a shell command, a conninfo, a log line): each `NAME=value` with a secret name (the value up
    /// to the next space, or to the closing quote when it is quoted) and each URL userinfo password.
    public static func maskText(_ text: String) -> String {
        maskURLUserinfo(maskAssignments(text))
    }

    static func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "-" || c == "." }

    private static func maskAssignments(_ text: String) -> String {
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            guard text[index] == "=" else {
                out.append(text[index])
                index = text.index(after: index)
                continue
            }
            // The name: the run of name characters before `=` (already copied to `out`).
            let name = out.reversed().prefix { isNameCharacter($0) }.reversed().drop { $0 == "-" }
            out.append("=")
            index = text.index(after: index)
            guard !name.isEmpty, ResolvedConfigMask.isSecretName(String(name)), index < text.endIndex else { continue }
            var end = index
            if text[index] == "'" || text[index] == "\"" {
                let quote = text[index]
                end = text.index(after: index)
                while end < text.endIndex, text[end] != quote {
                    if text[end] == "\\", quote == "\"", text.index(after: end) < text.endIndex { end = text.index(after: end) }
                    end = text.index(after: end)
                }
                out += String(quote) + Redactor.mask
                index = end
                continue
            }
            while end < text.endIndex, !text[end].isWhitespace { end = text.index(after: end) }
            if end > index { out += Redactor.mask }
            index = end
        }
        return out
    }

    private static func maskURLUserinfo(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            // The authority ends at the first `/`, `?`, `#` or whitespace; its userinfo at its last `@`.
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0.isWhitespace } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[...colon] + Redactor.mask + authority[at...]
                rest = rest[authorityEnd...]
            }
        }
        return out + rest
    }
}
