import Foundation

/// Masks secret values in any text before it is shown, logged or audited.
///
/// Every rendering of a command, an error or an audit record passes through one of these, so a password
/// that reached upshift through compose's resolved environment can never leak into output. A secret is also
/// masked in the forms other tools print it in: JSON-escaped (compose's `config --format json`, upshift's own
/// JSON files: `"` becomes `\"`, `\` becomes `\\`, a newline `\n`, `/` sometimes `\/`), with compose's `$$`
/// escape, and line by line when it spans lines (stderr is read line by line).
public struct Redactor: Sendable, Hashable {
    public static let mask = "******"
    /// The secrets as given. The only stored property: a `Redactor` travels inside every `CommandFailure`
    /// (a typed-throws error), which is kept one word large.
    public private(set) var secrets: [String]

    /// Every form searched for, longest first, so a secret that contains another is masked whole.
    private var forms: [String] {
        var forms = Set<String>()
        for secret in secrets {
            for form in Self.encodings(of: secret) where form.count >= 3 { forms.insert(form) }
        }
        return forms.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// Very short values (under 3 characters) are not searched for in text: masking "1" would garble every
    /// line while protecting nothing. Such a password is kept out structurally instead (it never goes into
    /// argv, and `ResolvedConfigMask` blanks secret-named variables).
    public init(secrets: [String] = []) {
        self.secrets = Array(Set(secrets.filter { $0.count >= 3 })).sorted { $0.count > $1.count }
    }

    public mutating func add(_ secret: String?) {
        guard let secret else { return }
        self = Redactor(secrets: secrets + [secret])
    }

    public func adding(_ more: [String]) -> Redactor { Redactor(secrets: secrets + more) }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for form in forms where result.contains(form) {
            result = result.replacingOccurrences(of: form, with: Redactor.mask)
        }
        return result
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
