/// A password that cannot be printed or encoded in clear by accident: string interpolation, `print`,
/// `dump`, `Codable` and error descriptions all render it as `******`. The value is reached only through
/// `revealed`, at the few places that hand it to a subprocess's environment or to libpq.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable, Encodable {
    /// The clear value. Named to stand out in review: every use is a place where the secret leaves upshift.
    public let revealed: String

    public init(_ value: String) { revealed = value }

    public var description: String { Redactor.mask }
    public var debugDescription: String { "Secret(\(Redactor.mask))" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Redactor.mask)
    }
}

extension Redactor {
    public mutating func add(_ secret: Secret?) { add(secret?.revealed) }
}
