import Foundation

/// SHA-256 (FIPS 180-4) in plain Swift.
///
/// Foundation on Linux has no CryptoKit, and upshift needs SHA-256 for the audit hash chain and for the
/// `.sha256` files beside backups. Incremental: `update` any number of times, then `finalize`, so a dump
/// of many GB is hashed in fixed-size chunks (`hashFile`).
public struct SHA256: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    public init() {
        buffer.reserveCapacity(64)
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var index = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            index = take
            if buffer.count == 64 {
                buffer.withUnsafeBytes { compress($0.baseAddress!.assumingMemoryBound(to: UInt8.self), blocks: 1) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (bytes.count - index) / 64
        if blocks > 0 {
            compress(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + index, blocks: blocks)
            index += blocks * 64
        }
        if index < bytes.count { buffer.append(contentsOf: bytes[index...]) }
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
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        let padding = (56 - (buffer.count + 1) % 64 + 64) % 64
        tail.append(contentsOf: repeatElement(0, count: padding))
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        let savedLength = length
        tail.withUnsafeBytes { update($0) }
        length = savedLength
        precondition(buffer.isEmpty)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7] {
            out.append(contentsOf: [UInt8(word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)])
        }
        return out
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
    ///
    /// Files above 8 MiB go to coreutils' `sha256sum` when the system has it: dumps are hashed twice inside
    /// the downtime window (after the dump, before the restore), and the benchmark showed this plain-Swift
    /// loop (in a debug build) adding about 10 s per 500 MB each time. Same digest either way (tested).
    public static func hexOfFile(atPath path: String, chunkSize: Int = 1 << 20) throws -> String {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value, size > 8 << 20,
           let digest = systemHexOfFile(atPath: path) {
            return digest
        }
        return try swiftHexOfFile(atPath: path, chunkSize: chunkSize)
    }

    /// The plain-Swift path of `hexOfFile`, always available.
    public static func swiftHexOfFile(atPath path: String, chunkSize: Int = 1 << 20) throws -> String {
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

    static let systemTool = "/usr/bin/sha256sum"

    /// `sha256sum -- path` (argv, no shell); `nil` when the tool is missing or says anything unexpected.
    public static func systemHexOfFile(atPath path: String) -> String? {
        guard FileManager.default.isExecutableFile(atPath: systemTool) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: systemTool)
        process.arguments = ["--", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let first = String(decoding: data, as: UTF8.self).split(separator: " ").first,
              first.count == 64, first.allSatisfy(\.isHexDigit)
        else { return nil }
        return String(first)
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

    // MARK: - Compression function

    /// Written for speed in debug builds too (the e2e tests run a debug binary that hashes dumps): masking
    /// shifts and raw pointers only, since generic shifts and checked subscripts are calls at -Onone, and
    /// one scratch allocation for all the blocks of an `update`.
    private mutating func compress(_ start: UnsafePointer<UInt8>, blocks: Int) {
        let initial = state
        state = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { scratch in
            SHA256.k.withUnsafeBufferPointer { constants in
                let w = scratch.baseAddress!
                let k = constants.baseAddress!
                var state = initial
                for block in 0..<blocks {
                    let bytes = start + block &* 64
                    var i = 0
                    while i < 16 {
                        let p = bytes + 4 &* i
                        w[i] = UInt32(p[0]) &<< 24 | UInt32(p[1]) &<< 16 | UInt32(p[2]) &<< 8 | UInt32(p[3])
                        i &+= 1
                    }
                    while i < 64 {
                        let x = w[i &- 15]
                        let y = w[i &- 2]
                        let s0 = (x &>> 7 | x &<< 25) ^ (x &>> 18 | x &<< 14) ^ (x &>> 3)
                        let s1 = (y &>> 17 | y &<< 15) ^ (y &>> 19 | y &<< 13) ^ (y &>> 10)
                        w[i] = w[i &- 16] &+ s0 &+ w[i &- 7] &+ s1
                        i &+= 1
                    }
                    var (a, b, c, d, e, f, g, h) = state
                    i = 0
                    while i < 64 {
                        let s1 = (e &>> 6 | e &<< 26) ^ (e &>> 11 | e &<< 21) ^ (e &>> 25 | e &<< 7)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
                        let s0 = (a &>> 2 | a &<< 30) ^ (a &>> 13 | a &<< 19) ^ (a &>> 22 | a &<< 10)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ maj
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                        i &+= 1
                    }
                    state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
                }
                return state
            }
        }
    }
}
