import Foundation
import Testing
@testable import UpshiftSupport

struct SHA256Tests {
    // NIST FIPS 180-4 / CAVP examples.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func nistVectors(input: String, expected: String) {
        #expect(SHA256.hex(of: input) == expected)
        #expect(SHA256.hex(of: Data(input.utf8)) == expected)
    }

    @Test func oneMillionAs() {
        var hasher = SHA256()
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingMatchesOneShotAcrossOddChunkBoundaries() {
        let data = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let expected = SHA256.hex(of: data)
        for size in [1, 3, 55, 56, 63, 64, 65, 127, 1000] {
            var hasher = SHA256()
            var offset = 0
            while offset < data.count {
                let end = min(offset + size, data.count)
                hasher.update(data[offset..<end])
                offset = end
            }
            #expect(hasher.finalizeHex() == expected, "chunk size \(size)")
        }
        // Messages whose length sits at the padding boundaries.
        for n in [55, 56, 57, 63, 64, 65, 119, 120] {
            let bytes = Data(repeating: 0x61, count: n)
            var one = SHA256()
            one.update(bytes)
            var split = SHA256()
            split.update(bytes.prefix(n / 2))
            split.update(bytes.dropFirst(n / 2))
            #expect(one.finalizeHex() == split.finalizeHex())
        }
    }

    @Test func hashesAFileInChunksLikeSha256sum() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-sha-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var data = Data(count: 1_000_003)
        data.withUnsafeMutableBytes { raw in
            for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: i &* 7) }
        }
        try data.write(to: URL(fileURLWithPath: path))
        let ours = try SHA256.hexOfFile(atPath: path, chunkSize: 65_536)
        let tool = try await LiveCommandRunner().check(Command("sha256sum", [path]))
        #expect(ours == String(tool.stdoutText.prefix(64)))
        #expect(ours == SHA256.hex(of: data))
    }
}

/// A file above the size that used to go to `sha256sum` (8 MiB) hashes in process to coreutils' digest.
struct SHA256SystemToolTests {
    @Test func largeFileAgreesWithSha256sum() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = [UInt8](repeating: 0, count: 9 << 20)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 7) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let tool = try await LiveCommandRunner().check(Command("sha256sum", [path]))
        #expect(try SHA256.hexOfFile(atPath: path) == String(tool.stdoutText.prefix(64)))
        #expect(throws: UpshiftError.self) { try SHA256.hexOfFile(atPath: path + ".missing") }
    }
}
