import Foundation

/// Identifies one run: `YYYYMMDD-HHMMSS-xxxx` in UTC plus four random hex digits.
///
/// The name sorts by time as plain text, so "the latest run" is the last directory name in sorted order,
/// and it is safe to use as a path component and in the moved-aside data directory name
/// (`<pgdata>.pg15-<run-id>`). Anything else given as `--run` is refused, so a run id can never name a
/// path outside the runs folder.
public struct RunID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts only the exact `YYYYMMDD-HHMMSS-xxxx` shape.
    public init?(_ rawValue: String) {
        guard RunID.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// A new id for a run starting at `date`.
    public static func make(at date: Date = Date(), random: String? = nil) -> RunID {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let suffix = random ?? String((0..<4).map { _ in "0123456789abcdef".randomElement()! })
        let text = pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "-" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "-" + suffix
        return RunID(text)!
    }

    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[8] == UInt8(ascii: "-"), bytes[15] == UInt8(ascii: "-") else { return false }
        for (index, byte) in bytes.enumerated() where index != 8 && index != 15 {
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let isHex = isDigit || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            if index > 15 ? !isHex : !isDigit { return false }
        }
        return true
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = RunID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a run id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
