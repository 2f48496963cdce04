import Foundation
import UpshiftSupport

// benchmarks/sha256 — how fast upshift hashes a dump, before and after swift-crypto, against sha256sum.
//
// One run measures all three on the same file, back to back, so the ratios hold even on a loaded machine:
//   plain-swift   the pre-swift-crypto implementation (PlainSHA256.swift, a verbatim copy), 1 MiB chunks
//   upshift       SHA256.hexOfFile, the code path every dump and restore uses now (swift-crypto)
//   sha256sum     coreutils, the raw baseline (and what large dumps were handed to before)
// plus the audit chain's shape: many short records through `SHA256.hex(of:)`, old and new.
// Usage: Sha256Bench [--size-mib N] [--repeat N] [--results DIR]

struct Options {
    var sizeMiB = 1024
    var repeats = 3
    var resultsDirectory = "benchmarks/results"

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--size-mib": sizeMiB = Int(iterator.next() ?? "") ?? sizeMiB
            case "--repeat": repeats = max(1, Int(iterator.next() ?? "") ?? repeats)
            case "--results": resultsDirectory = iterator.next() ?? resultsDirectory
            default:
                FileHandle.standardError.write(Data("usage: Sha256Bench [--size-mib N] [--repeat N] [--results DIR]\n".utf8))
                exit(64)
            }
        }
    }
}

struct Measurement: Codable {
    var name: String
    var seconds: [Double]
    var megabytesPerSecond: Double
    var digest: String
}

struct Result: Codable {
    var benchmark = "sha256"
    var utc: String
    var build: String
    var cpu: String
    var cores: Int
    var loadAverage: String
    var fileBytes: Int
    var repeats: Int
    var file: [Measurement]
    var auditRecords: [Measurement]
    var ratios: [String: Double]
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func plainHexOfFile(_ path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
    defer { try? handle.close() }
    var hasher = PlainSHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
    return hasher.finalizeHex()
}

func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = ["--", path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: output, as: UTF8.self).prefix(64))
}

func firstLine(of path: String, prefix: String) -> String {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
}

@main
struct Sha256Bench {
    static func main() throws {
        let options = Options(CommandLine.arguments)
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        let bytes = options.sizeMiB << 20
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-sha256-bench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }

        // A file of pseudo-random bytes (xorshift), written in 8 MiB pieces, then read once so that every
        // contender reads it from the page cache: the benchmark measures hashing, not the disk.
        do {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            var piece = [UInt64](repeating: 0, count: (8 << 20) / 8)
            var written = 0
            while written < bytes {
                for index in piece.indices {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    piece[index] = state
                }
                let count = min(piece.count * 8, bytes - written)
                piece.withUnsafeBytes { handle.write(Data($0.prefix(count))) }
                written += count
            }
            try handle.close()
            _ = try sha256sum(path)
        }

        func measure(_ name: String, _ body: () throws -> String) rethrows -> Measurement {
            var seconds: [Double] = []
            var digest = ""
            for _ in 0..<options.repeats {
                let start = now()
                digest = try body()
                seconds.append(now() - start)
            }
            let rate = Double(bytes) / 1e6 / median(seconds)
            print(name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: " %8.1f MB/s  (median of %d: %@ s)", rate, seconds.count,
                         seconds.map { String(format: "%.2f", $0) }.joined(separator: ", ") as NSString))
            return Measurement(name: name, seconds: seconds, megabytesPerSecond: rate, digest: digest)
        }

        print("hashing \(options.sizeMiB) MiB from the page cache, \(build) build, \(options.repeats) passes each")
        let file = [
            try measure("plain-swift") { try plainHexOfFile(path) },
            try measure("upshift") { try SHA256.hexOfFile(atPath: path) },
            try measure("sha256sum") { try sha256sum(path) },
        ]
        guard Set(file.map(\.digest)).count == 1 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "digests differ: \(file.map { "\($0.name)=\($0.digest)" })"])
        }

        // The audit chain: each record's `prev` is the SHA-256 of the previous line, a few hundred bytes.
        let record = Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let records = 200_000
        func measureRecords(_ name: String, _ hash: (Data) -> String) -> Measurement {
            var seconds: [Double] = []
            var digest = ""
            for _ in 0..<options.repeats {
                let start = now()
                for _ in 0..<records { digest = hash(record) }
                seconds.append(now() - start)
            }
            let rate = Double(records * record.count) / 1e6 / median(seconds)
            print(name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: " %8.1f MB/s  %9.0f records/s (300-byte audit records)", rate, Double(records) / median(seconds)))
            return Measurement(name: name, seconds: seconds, megabytesPerSecond: rate, digest: digest)
        }
        let audit = [
            measureRecords("plain-swift") { var h = PlainSHA256(); h.update($0); return h.finalizeHex() },
            measureRecords("upshift") { SHA256.hex(of: $0) },
        ]

        let rate = Dictionary(uniqueKeysWithValues: file.map { ($0.name, $0.megabytesPerSecond) })
        let ratios = [
            "upshift/plain-swift": rate["upshift"]! / rate["plain-swift"]!,
            "upshift/sha256sum": rate["upshift"]! / rate["sha256sum"]!,
            "audit upshift/plain-swift": audit[1].megabytesPerSecond / audit[0].megabytesPerSecond,
        ]
        for (name, value) in ratios.sorted(by: { $0.key < $1.key }) { print(name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: " %6.2fx", value)) }

        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let result = Result(
            utc: stamp, build: build, cpu: firstLine(of: "/proc/cpuinfo", prefix: "model name"),
            cores: ProcessInfo.processInfo.activeProcessorCount,
            loadAverage: ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines),
            fileBytes: bytes, repeats: options.repeats, file: file, auditRecords: audit, ratios: ratios)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(atPath: options.resultsDirectory, withIntermediateDirectories: true)
        let output = options.resultsDirectory + "/sha256-\(stamp).json"
        try encoder.encode(result).write(to: URL(fileURLWithPath: output))
        print("wrote \(output)")
    }
}
