import Foundation
import UpshiftSupport

/// An InvenTree export file (`export-records`), read and checked on the host before anything touches a
/// target: UTF-8 (InvenTree reads it as UTF-8 and dies half-way through an import otherwise), a JSON array of
/// Django fixture objects, the optional 1.3+ metadata header, and the number of records per model (what the
/// import is verified against).
public struct RecordsFile: Sendable, Hashable {
    /// The 1.3+ header (`{"metadata": true, "source_version": …, "installed_apps": […]}`).
    public struct Metadata: Sendable, Hashable, Codable {
        public var sourceVersion: String?
        public var apiVersion: Int?
        public var installedApps: [String]
        public var exportedAt: String?
    }

    public var metadata: Metadata?
    /// Records per model label (`part.part` -> 123), metadata excluded.
    public var counts: [String: Int]
    /// Entries that are neither metadata nor have a `model` (InvenTree warns and skips them).
    public var invalidEntries: Int
    public var bytes: Int

    package init(metadata: Metadata? = nil, counts: [String: Int], invalidEntries: Int, bytes: Int) {
        self.metadata = metadata
        self.counts = counts
        self.invalidEntries = invalidEntries
        self.bytes = bytes
    }

    public var totalRecords: Int { counts.values.reduce(0, +) }

    /// Model labels whose app is not one of InvenTree's own or Django's: plugin apps (`barcodeplus.scanlog`).
    public var pluginModels: [String] { counts.keys.filter { !Self.coreApps.contains(Self.app(of: $0)) }.sorted() }

    public var sourceVersion: InvenTreeVersion? { metadata?.sourceVersion.flatMap(InvenTreeVersion.init(parsing:)) }

    /// `part.part` -> `part`.
    public static func app(of label: String) -> String { String(label.split(separator: ".", maxSplits: 1).first ?? "") }

    /// Apps of InvenTree itself and of the Django/third-party packages it ships; anything else in an export
    /// comes from a plugin (whose code must be installed and active on the target).
    public static let coreApps: Set<String> = [
        "admin", "auth", "contenttypes", "sessions", "sites", "account", "socialaccount", "mfa", "usersessions", "user_sessions",
        "django_q", "error_report", "exchange", "taggit", "oauth2_provider", "dbbackup", "flags", "rest_framework", "authtoken",
        "build", "common", "company", "data_exporter", "generic", "importer", "InvenTree", "machine", "order", "part", "plugin",
        "report", "stock", "users", "web", "label",
    ]

    // MARK: - Reading

    /// Parses `data` (already UTF-8). - Throws: a usage error naming what is wrong with the file.
    public static func parse(_ data: Data, name: String) throws -> RecordsFile {
        if let offset = firstInvalidUTF8Offset(data) {
            throw invalidUTF8Error(data: data, offset: offset, name: name)
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw UpshiftError.usage("\(name) is not valid JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")")
        }
        guard let array = object as? [Any] else {
            throw UpshiftError.usage("\(name) is not an InvenTree export: the top level is not a JSON array of records")
        }
        var counts: [String: Int] = [:]
        var metadata: Metadata?
        var invalid = 0
        for entry in array {
            guard let dict = entry as? [String: Any] else { invalid += 1; continue }
            if let flag = dict["metadata"], (flag as? Bool) == true || (flag as? NSNumber)?.boolValue == true {
                metadata = Metadata(
                    sourceVersion: dict["source_version"] as? String, apiVersion: (dict["api_version"] as? NSNumber)?.intValue,
                    installedApps: (dict["installed_apps"] as? [Any])?.compactMap { $0 as? String } ?? [],
                    exportedAt: dict["exported_at_utc"] as? String ?? dict["exported_at"] as? String)
                continue
            }
            guard let model = dict["model"] as? String, !model.isEmpty else { invalid += 1; continue }
            counts[model.lowercased(), default: 0] += 1
        }
        return RecordsFile(metadata: metadata, counts: counts, invalidEntries: invalid, bytes: data.count)
    }

    /// Reads and parses a host file; with `convertFrom`, the bytes are first decoded from that encoding and
    /// re-encoded as UTF-8 (the converted bytes are returned for upshift to copy in instead of the original).
    public static func read(path: String, convertFrom: String.Encoding? = nil) throws -> (file: RecordsFile, data: Data) {
        guard let raw = FileManager.default.contents(atPath: path) else {
            throw UpshiftError.usage("cannot read \(path)")
        }
        var data = raw
        if let encoding = convertFrom {
            guard let text = String(data: raw, encoding: encoding) else {
                throw UpshiftError.usage("\(path) cannot be decoded as \(encoding)")
            }
            data = Data(text.utf8)
        }
        return (try parse(data, name: path), data)
    }

    // MARK: - UTF-8

    /// The byte offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
    /// surrogates and code points above U+10FFFF count as invalid, as in RFC 3629), or `nil`.
    public static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int? in
            let bytes = buffer.bindMemory(to: UInt8.self)
            let n = bytes.count
            var i = 0
            while i < n {
                let b = bytes[i]
                if b < 0x80 { i += 1; continue }
                let length: Int
                var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
                switch b {
                case 0xC2...0xDF: length = 2
                case 0xE0: length = 3; lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: length = 3
                case 0xED: length = 3; upper = 0x9F
                case 0xF0: length = 4; lower = 0x90
                case 0xF1...0xF3: length = 4
                case 0xF4: length = 4; upper = 0x8F
                default: return i
                }
                guard i + length <= n else { return i }
                for k in 1..<length {
                    let c = bytes[i + k]
                    let (lo, hi): (UInt8, UInt8) = k == 1 ? (lower, upper) : (0x80, 0xBF)
                    if c < lo || c > hi { return i }
                }
                i += length
            }
            return nil
        }
    }

    /// "not UTF-8: byte 0xE9 at offset 1234 (line 56, column 7)" with the bytes around it.
    static func invalidUTF8Error(data: Data, offset: Int, name: String) -> UpshiftError {
        let byte = data[data.startIndex + offset]
        let prefix = data.prefix(offset)
        let line = prefix.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        let lineStart = prefix.lastIndex(of: 0x0A).map { $0 + 1 } ?? data.startIndex
        let column = offset - (lineStart - data.startIndex) + 1
        let context = data[max(data.startIndex, data.startIndex + offset - 16)..<min(data.endIndex, data.startIndex + offset + 16)]
        let shown = String(decoding: context.map { $0 < 0x80 && $0 >= 0x20 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        return UpshiftError.usage(
            "\(name) is not UTF-8: invalid byte 0x\(String(byte, radix: 16, uppercase: true)) at byte offset \(offset) (line \(line), column \(column), near \"\(shown)\"); InvenTree reads export files as UTF-8 and the import would fail",
            hint: "if the file was saved in another encoding, re-encode it with --convert-from ENCODING (e.g. latin1, windows-1252, utf-16)")
    }

    // MARK: - Encodings

    /// Foundation's encoding for a user-facing name (`latin1`, `iso-8859-1`, `cp1252`, `utf-16le`, …).
    public static func encoding(named name: String) -> String.Encoding? {
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        let table: [String: String.Encoding] = [
            "latin1": .isoLatin1, "latin-1": .isoLatin1, "iso-8859-1": .isoLatin1, "iso8859-1": .isoLatin1, "l1": .isoLatin1,
            "latin2": .isoLatin2, "iso-8859-2": .isoLatin2,
            "cp1252": .windowsCP1252, "windows-1252": .windowsCP1252, "win1252": .windowsCP1252,
            "cp1250": .windowsCP1250, "windows-1250": .windowsCP1250,
            "cp1251": .windowsCP1251, "windows-1251": .windowsCP1251,
            "cp1253": .windowsCP1253, "windows-1253": .windowsCP1253,
            "cp1254": .windowsCP1254, "windows-1254": .windowsCP1254,
            "macroman": .macOSRoman, "mac-roman": .macOSRoman,
            "ascii": .ascii, "us-ascii": .ascii,
            "utf-8": .utf8, "utf8": .utf8,
            "utf-16": .utf16, "utf16": .utf16, "utf-16le": .utf16LittleEndian, "utf-16be": .utf16BigEndian,
            "utf-32": .utf32, "utf-32le": .utf32LittleEndian, "utf-32be": .utf32BigEndian,
            "shift-jis": .shiftJIS, "sjis": .shiftJIS, "euc-jp": .japaneseEUC, "iso-2022-jp": .iso2022JP,
        ]
        return table[key]
    }

    public static let encodingNames = ["latin1", "latin2", "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
                                       "macroman", "ascii", "utf-8", "utf-16", "utf-16le", "utf-16be", "utf-32", "shift-jis", "euc-jp"]

    // MARK: - Rendering

    /// `model  count` lines, sorted by model, for people and the audit.
    public var countLines: [String] {
        let width = counts.keys.map(\.count).max() ?? 0
        return counts.keys.sorted().map { $0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(counts[$0]!) }
    }

    /// `model=count;…` for the audit.
    public var countsText: String { counts.keys.sorted().map { "\($0)=\(counts[$0]!)" }.joined(separator: ";") }
}

extension RecordsFile {
    /// Splits the raw export into the file without plugin-app records and the plugin-app records alone
    /// (same top-level shape), for InvenTree up to 1.2, whose import loads plugin rows in the same step as
    /// the plugin's activation and silently skips them (the plugin's app is not loaded yet).
    public static func splitPluginRecords(_ data: Data) throws -> (core: Data, plugin: Data, pluginCount: Int) {
        guard let array = try JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw UpshiftError.usage("not a JSON array of records")
        }
        var core: [Any] = [], plugin: [Any] = []
        for entry in array {
            if let dict = entry as? [String: Any], let model = dict["model"] as? String, !coreApps.contains(app(of: model.lowercased())) {
                plugin.append(entry)
            } else {
                core.append(entry)
            }
        }
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .withoutEscapingSlashes]
        return (try JSONSerialization.data(withJSONObject: core, options: options), try JSONSerialization.data(withJSONObject: plugin, options: options), plugin.count)
    }
}
