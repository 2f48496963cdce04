import Foundation

/// Cuts a byte stream into lines for progress callbacks.
///
/// Not thread-safe: each reader owns one. Lines longer than `maxLineBytes` are emitted in pieces so a
/// binary blob without newlines cannot grow memory without bound. A trailing `\r` is dropped.
struct LineSplitter {
    var pending = Data()
    let maxLineBytes: Int

    init(maxLineBytes: Int = 64 * 1024) {
        self.maxLineBytes = maxLineBytes
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (String) -> Void) {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: "\n") {
            pending.append(contentsOf: bytes[start..<i])
            emit(Self.text(pending))
            pending.removeAll(keepingCapacity: true)
            start = i + 1
        }
        if start < bytes.count { pending.append(contentsOf: bytes[start..<bytes.count]) }
        while pending.count > maxLineBytes {
            emit(Self.text(pending.prefix(maxLineBytes)))
            pending = Data(pending.dropFirst(maxLineBytes))
        }
    }

    mutating func finish(emit: (String) -> Void) {
        if !pending.isEmpty { emit(Self.text(pending)) }
        pending.removeAll()
    }

    private static func text(_ data: Data) -> String {
        var s = String(decoding: data, as: UTF8.self)
        if s.hasSuffix("\r") { s.removeLast() }
        return s
    }
}
