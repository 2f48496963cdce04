import Foundation

/// A minimal ustar reader and writer for small text files moved in and out of helper containers.
///
/// Every helper container costs about half a second of downtime; `tar` (in every postgres image, GNU or
/// BusyBox) moves several files in one container instead of one `cat` or `tee` each, and keeps the data
/// owner's uid because the container runs as that user.
public enum TarArchive {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var contents: Data
        public var mode: Int

        public init(name: String, contents: Data, mode: Int = 0o600) {
            self.name = name
            self.contents = contents
            self.mode = mode
        }
    }

    /// The regular files of an archive by name (directories, links and extension headers skipped).
    public static func read(_ data: Data) -> [String: Data] {
        let bytes = [UInt8](data)
        var files: [String: Data] = [:]
        var offset = 0
        while offset + 512 <= bytes.count {
            let header = Array(bytes[offset..<offset + 512])
            if header.allSatisfy({ $0 == 0 }) { break }
            let name = string(header, 0, 100)
            let prefix = string(header, 345, 155)
            let size = Int(string(header, 124, 12).trimmingCharacters(in: .whitespaces), radix: 8) ?? 0
            let type = header[156]
            let start = offset + 512
            guard start + size <= bytes.count else { break }
            if type == UInt8(ascii: "0") || type == 0 {
                let full = prefix.isEmpty ? name : prefix + "/" + name
                files[full.hasPrefix("./") ? String(full.dropFirst(2)) : full] = Data(bytes[start..<start + size])
            }
            offset = start + (size + 511) / 512 * 512
        }
        return files
    }

    /// An archive of regular files (names up to 100 bytes), owned by uid/gid 0 in the header — an
    /// unprivileged extraction makes them the extracting user's.
    public static func write(_ entries: [Entry], mtime: Int = Int(Date().timeIntervalSince1970)) -> Data {
        var out = Data()
        for entry in entries {
            var header = [UInt8](repeating: 0, count: 512)
            put(&header, 0, 100, entry.name)
            put(&header, 100, 8, octal(entry.mode, 7))
            put(&header, 108, 8, octal(0, 7))
            put(&header, 116, 8, octal(0, 7))
            put(&header, 124, 12, octal(entry.contents.count, 11))
            put(&header, 136, 12, octal(mtime, 11))
            put(&header, 148, 8, "        ")
            header[156] = UInt8(ascii: "0")
            put(&header, 257, 6, "ustar")
            put(&header, 263, 2, "00")
            let sum = header.reduce(0) { $0 + Int($1) }
            put(&header, 148, 8, octal(sum, 6) + "\0 ")
            out.append(contentsOf: header)
            out.append(entry.contents)
            let pad = (512 - entry.contents.count % 512) % 512
            out.append(Data(repeating: 0, count: pad))
        }
        out.append(Data(repeating: 0, count: 1024))
        return out
    }

    static func string(_ bytes: [UInt8], _ start: Int, _ length: Int) -> String {
        let field = bytes[start..<start + length]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[start..<end], as: UTF8.self)
    }

    static func put(_ header: inout [UInt8], _ start: Int, _ length: Int, _ text: String) {
        for (index, byte) in text.utf8.prefix(length).enumerated() { header[start + index] = byte }
    }

    static func octal(_ value: Int, _ digits: Int) -> String {
        let text = String(value, radix: 8)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
