import Foundation

/// Masks secret values in any text before it is shown, logged or audited.
///
/// Every rendering of a command, an error or an audit record passes through one of these, so a password
/// that reached upshift through compose's resolved environment can never leak into output. A secret is also
/// masked in the forms other tools print it in: JSON-escaped (compose's `config --format json`, upshift's own
/// JSON files: `"` becomes `\"`, `\` becomes `\\`, a newline `\n`, `/` sometimes `\/`), with compose's `$$`
/// escape, and line by line when it spans lines (stderr is read line by line).
///
/// A *guessable* secret — under 3 characters, or a word the output holds anyway (`postgres`, the project's
/// or a service's name: `Secret.isCommonWord`) — is not masked as text: masking `x` would garble every line,
/// and masking `postgres` in `postgres:15` or `/var/lib/postgresql` would print the password by what is left
/// around the mask. It is masked where it stands as a value instead (`PGPASSWORD=x`, `"…PASSWORD": "x"`,
/// `password=x`, `://user:x@`, `PASSWORD 'x'`), and kept out structurally (never in argv;
/// `ResolvedConfigMask`, `CredentialText`).
public struct Redactor: Sendable, Hashable {
    public static let mask = "******"

    struct Entry: Sendable, Hashable {
        var value: String
        /// Masked wherever it occurs; false for a guessable secret, masked only in value positions.
        var inText: Bool
    }

    /// The only stored property: a `Redactor` travels inside every `CommandFailure` (a typed-throws error),
    /// which is kept one word large.
    private(set) var entries: [Entry]

    /// The secrets as given.
    public var secrets: [String] { entries.map(\.value) }

    /// Every form searched for as text, longest first, so a secret that contains another is masked whole.
    private var forms: [String] {
        var forms = Set<String>()
        for entry in entries where entry.inText {
            for form in Self.encodings(of: entry.value) where form.count >= 3 { forms.insert(form) }
        }
        return forms.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// Each secret is guessable or not by `isGuessable(_:commonWords:)` with upshift's own words only; a
    /// `Secret` added with `add(_:)` brings the deployment's words too.
    public init(secrets: [String] = []) {
        entries = []
        for secret in secrets { insert(Entry(value: secret, inText: !Self.isGuessable(secret))) }
    }

    init(entries: [Entry]) {
        self.entries = []
        for entry in entries { insert(entry) }
    }

    private mutating func insert(_ entry: Entry) {
        guard !entry.value.isEmpty else { return }
        if let index = entries.firstIndex(where: { $0.value == entry.value }) {
            entries[index].inText = entries[index].inText && entry.inText
        } else {
            entries.append(entry)
            entries.sort { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.value < $1.value }
        }
    }

    public mutating func add(_ secret: String?) {
        guard let secret else { return }
        insert(Entry(value: secret, inText: !Self.isGuessable(secret)))
    }

    public func adding(_ more: [String]) -> Redactor {
        var copy = self
        for secret in more { copy.add(secret) }
        return copy
    }

    /// Both redactors' secrets, each keeping how it is masked.
    public func merging(_ other: Redactor) -> Redactor { Redactor(entries: entries + other.entries) }

    public func redact(_ text: String) -> String {
        guard !entries.isEmpty else { return text }
        var result = text
        for form in forms where result.contains(form) {
            result = result.replacingOccurrences(of: form, with: Redactor.mask)
        }
        for entry in entries where !entry.inText {
            result = SecretValuePositions.mask(entry.value, in: result)
        }
        return result
    }

    /// Words every upshift output holds, whatever the deployment: a secret found inside one of them is
    /// guessable from a mask in it.
    static let ownWords = [
        "postgresql", "docker compose", "upshift", "pg_dumpall", "pg_restore", "pg_upgrade", "pg_isready", "psql",
        "vacuumdb", "inventree", "backups", "rollback", "snapshot", "fingerprint", "database",
    ]

    /// True for a secret under 3 characters, or one contained (ignoring case) in upshift's own words or in
    /// `commonWords` (the deployment's names, images and paths).
    public static func isGuessable(_ secret: String, commonWords: [String] = []) -> Bool {
        guard secret.count >= 3 else { return true }
        let lower = secret.lowercased()
        return (ownWords + commonWords).contains { $0.lowercased().contains(lower) }
    }

    /// The secret as written by JSON encoders (with and without `\/`), with compose's `$$`, and each of its
    /// lines when it has several.
    static func encodings(of secret: String) -> [String] {
        let dollar = secret.replacingOccurrences(of: "$", with: "$$")
        var forms = [secret, dollar]
        for base in [secret, dollar] {
            let json = jsonEscaped(base)
            forms += [json, json.replacingOccurrences(of: "/", with: "\\/"), asciiJSONEscaped(base)]
        }
        let lines = secret.split(whereSeparator: \.isNewline).map(String.init)
        if lines.count > 1 { forms += lines }
        return forms
    }

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

    /// JSON with every non-ASCII character as `\uXXXX` (UTF-16 units, lowercase hex), as Go's encoder does
    /// for some characters and other encoders for all.
    static func asciiJSONEscaped(_ text: String) -> String {
        var out = ""
        for scalar in jsonEscaped(text).unicodeScalars {
            if scalar.isASCII { out.unicodeScalars.append(scalar); continue }
            for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
        }
        return out
    }
}
