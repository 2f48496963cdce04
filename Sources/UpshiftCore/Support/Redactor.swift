/// Masks secret values in any text before it is shown, logged or audited.
///
/// Every rendering of a command, an error or an audit record passes through one of these, so a password
/// that reached upshift through compose's resolved environment can never leak into output.
public struct Redactor: Sendable, Hashable {
    public static let mask = "******"
    public private(set) var secrets: [String]

    public init(secrets: [String] = []) {
        // Longest first, so a secret that contains another is masked whole. Very short values are not
        // masked: masking "1" or "" would garble every line while protecting nothing.
        self.secrets = Array(Set(secrets.filter { $0.count >= 3 })).sorted { $0.count > $1.count }
    }

    public mutating func add(_ secret: String?) {
        guard let secret else { return }
        self = Redactor(secrets: secrets + [secret])
    }

    public func adding(_ more: [String]) -> Redactor { Redactor(secrets: secrets + more) }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Redactor.mask)
        }
        return result
    }
}
