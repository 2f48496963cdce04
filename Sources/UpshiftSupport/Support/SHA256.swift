import Foundation
internal import Crypto

/// SHA-256, computed by swift-crypto (BoringSSL's assembly, SHA extensions where the CPU has them).
///
/// upshift hashes every dump it writes (the `.sha256` beside it, checked again before a restore, both inside
/// the downtime window) and every audit record (the hash chain). The plain-Swift implementation this type
/// used to hold ran at 51–82 MB/s, so large dumps went to a `sha256sum` subprocess; swift-crypto is about
/// 20x that rate in process (see `benchmarks/README.md`, "sha256"), so there is one path again. The API is
/// upshift's own so that callers do not depend on swift-crypto: incremental (`update` any number of times,
/// then `finalize`), so a dump of many GB is hashed in fixed-size chunks (`hexOfFile`).
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    public mutating func update<D: DataProtocol>(_ data: D) {
        for region in data.regions {
            region.withUnsafeBytes { update($0) }
        }
    }

    public mutating func update(_ string: String) {
        var copy = string
        copy.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The 32-byte digest. The value is consumed: call on a copy to keep hashing.
    public consuming func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }

    /// Lower-case hex of the digest.
    public consuming func finalizeHex() -> String { SHA256.hex(finalize()) }

    // MARK: - One-shot helpers

    public static func hash<D: DataProtocol>(_ data: D) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }

    public static func hex<D: DataProtocol>(of data: D) -> String { hex(hash(data)) }

    public static func hex(of string: String) -> String {
        var hasher = SHA256()
        hasher.update(string)
        return hex(hasher.finalize())
    }

    /// Hashes a file in `chunkSize` pieces: memory stays constant whatever the file size.
    public static func hexOfFile(atPath path: String, chunkSize: Int = 1 << 20) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw UpshiftError("cannot open \(path) for hashing")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: chunkSize), !chunk.isEmpty {
            hasher.update(chunk)
        }
        return hasher.finalizeHex()
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    public static func hex(_ bytes: [UInt8]) -> String {
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(hexDigits[Int(byte >> 4)])
            chars.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
