import Foundation

/// Masks compose's resolved JSON model before upshift keeps it (`config.resolved.json`), whatever the
/// secrets' length or content — the masking at the source that text search cannot give for a one-character
/// password, nor for one upshift was never told about.
///
/// Secret-named environment variables (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, `*_KEY`, …) are blanked whole.
/// Every other string of a service (environment values, `command`, `entrypoint`, the healthcheck, labels) is
/// masked where a credential stands in it (`CredentialText`): a `DATABASE_URI`-like variable with userinfo,
/// a conninfo's `password=`, a healthcheck word `PGPASSWORD=…` — the places a deployment carries its
/// password besides `POSTGRES_PASSWORD`.
public enum ResolvedConfigMask {
    public static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE"].contains { upper.contains($0) }
            || upper.hasSuffix("_KEY") || upper == "KEY" || upper.hasSuffix("_DSN") || upper.hasSuffix("DATABASE_URL")
    }

    /// `config --format json` output with every service masked; the text unchanged when it is not JSON.
    public static func mask(_ json: Data) -> Data {
        guard var root = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any],
              var services = root["services"] as? [String: Any]
        else { return json }
        for (name, value) in services {
            guard var service = value as? [String: Any] else { continue }
            if var environment = service["environment"] as? [String: Any] {
                for key in environment.keys where isSecretName(key) && !(environment[key] is NSNull) {
                    environment[key] = Redactor.mask
                }
                service["environment"] = environment
            }
            services[name] = maskStrings(service)
        }
        root["services"] = services
        return (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? json
    }

    /// Every string value under `value` through `CredentialText.maskWord` (keys unchanged).
    static func maskStrings(_ value: Any) -> Any {
        switch value {
        case let text as String: return CredentialText.maskWord(text)
        case let list as [Any]: return list.map(maskStrings)
        case let map as [String: Any]: return map.mapValues(maskStrings)
        default: return value
        }
    }
}

extension ResolvedConfigMask {
    /// A context line that sets a secret-named variable (`POSTGRES_PASSWORD: x`, `- DB_PASS=x`) with its value
    /// masked: the lines around an image line are often the service's environment.
    package static func maskingSecretValue(_ line: String) -> String {
        let body = line.drop(while: { $0 == " " || $0 == "-" })
        guard let separator = body.firstIndex(where: { $0 == ":" || $0 == "=" }) else { return line }
        let key = body[..<separator].trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
        guard ResolvedConfigMask.isSecretName(key), body[body.index(after: separator)...].contains(where: { !$0.isWhitespace }) else { return line }
        let prefix = line[..<body.startIndex] + body[...separator]
        return String(prefix) + (body[separator] == ":" ? " " : "") + Redactor.mask
    }
}
