/// A password that cannot be printed or encoded in clear by accident: string interpolation, `print`,
/// `dump`, `Codable` and error descriptions all render it as `******`. The value is reached only through
/// `revealed`, at the few places that hand it to a subprocess's environment or to libpq.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable, Encodable {
    /// The clear value. Named to stand out in review: every use is a place where the secret leaves upshift.
    public let revealed: String
    /// The value is guessable from what upshift prints anyway: under 3 characters, or inside one of the
    /// deployment's names, images or paths, or upshift's own words (`Redactor.isGuessable`). Such a password
    /// is masked where it stands as a value, not as text (which would garble `postgres:15` into `******:15`
    /// and so print it).
    public let isCommonWord: Bool

    /// - Parameter commonWords: the deployment's names, images and paths, where the value may occur anyway.
    public init(_ value: String, commonWords: [String] = []) {
        revealed = value
        isCommonWord = Redactor.isGuessable(value, commonWords: commonWords)
    }

    public var description: String { Redactor.mask }
    public var debugDescription: String { "Secret(\(Redactor.mask))" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Redactor.mask)
    }
}

extension Redactor {
    public mutating func add(_ secret: Secret?) {
        guard let secret else { return }
        self = merging(Redactor(entries: [Entry(value: secret.revealed, inText: !secret.isCommonWord)]))
    }

    /// A redactor for `secrets` (nil entries skipped), each masked as its `isCommonWord` says.
    public init(protecting secrets: [Secret?]) {
        self.init(entries: secrets.compactMap { $0 }.map { Entry(value: $0.revealed, inText: !$0.isCommonWord) })
    }
}
