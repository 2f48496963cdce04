import Foundation
import Testing
@testable import UpshiftApps
@testable import UpshiftSupport

/// The checks `upshift import` makes on an export file before touching any target.
struct RecordsFileTests {
    static let sample = #"""
    [
      {"metadata": true, "source_version": "1.3.0", "api_version": 400, "installed_apps": ["part", "barcodeplus"]},
      {"model": "part.part", "pk": 1, "fields": {"name": "Widerstand \u00e9", "active": true}},
      {"model": "part.part", "pk": 2, "fields": {"name": "Ω", "active": false}},
      {"model": "barcodeplus.scanlog", "pk": 1, "fields": {"payload": {"a": 1}}},
      {"model": "plugin.pluginconfig", "pk": 1, "fields": {"key": "barcodeplus", "active": true}},
      {"pk": 9}
    ]
    """#

    @Test func countsMetadataAndInvalidEntries() throws {
        let file = try RecordsFile.parse(Data(Self.sample.utf8), name: "x.json")
        #expect(file.counts == ["part.part": 2, "barcodeplus.scanlog": 1, "plugin.pluginconfig": 1])
        #expect(file.totalRecords == 4)
        #expect(file.invalidEntries == 1)
        #expect(file.metadata?.sourceVersion == "1.3.0")
        #expect(file.sourceVersion == InvenTreeVersion(1, 3, 0))
        #expect(file.metadata?.installedApps == ["part", "barcodeplus"])
        #expect(file.pluginModels == ["barcodeplus.scanlog"])
        #expect(file.countsText == "barcodeplus.scanlog=1;part.part=2;plugin.pluginconfig=1")
    }

    @Test func preOneThreeFileHasNoMetadata() throws {
        let file = try RecordsFile.parse(Data(#"[{"model": "auth.user", "pk": 1, "fields": {}}]"#.utf8), name: "x")
        #expect(file.metadata == nil && file.sourceVersion == nil && file.counts == ["auth.user": 1])
    }

    @Test func notJSONOrNotAnArrayIsRefused() {
        #expect(throws: UpshiftError.self) { try RecordsFile.parse(Data("[{\"model\": ".utf8), name: "broken.json") }
        do {
            _ = try RecordsFile.parse(Data(#"{"model": "part.part"}"#.utf8), name: "object.json")
            Issue.record("an object at the top level was accepted")
        } catch let error as UpshiftError {
            #expect(error.message.contains("not a JSON array") && error.exitCode == .usage)
        } catch { Issue.record("\(error)") }
    }

    @Test func firstInvalidUTF8OffsetFindsTheExactByte() {
        #expect(RecordsFile.firstInvalidUTF8Offset(Data("plain ascii".utf8)) == nil)
        #expect(RecordsFile.firstInvalidUTF8Offset(Data("Grüße Ω 𝄞".utf8)) == nil)
        #expect(RecordsFile.firstInvalidUTF8Offset(Data([0x61, 0x62, 0xE9, 0x63])) == 2)              // latin1 é
        #expect(RecordsFile.firstInvalidUTF8Offset(Data([0x61, 0xC0, 0xAF])) == 1)                    // overlong '/'
        #expect(RecordsFile.firstInvalidUTF8Offset(Data([0x61, 0xED, 0xA0, 0x80])) == 1)              // surrogate
        #expect(RecordsFile.firstInvalidUTF8Offset(Data([0x61, 0xF4, 0x90, 0x80, 0x80])) == 1)        // > U+10FFFF
        #expect(RecordsFile.firstInvalidUTF8Offset(Data([0x61, 0x62, 0xE2, 0x82])) == 2)              // truncated at the end
        #expect(RecordsFile.firstInvalidUTF8Offset(Data([0xC3, 0xA9, 0xFF])) == 2)                    // after a valid é
    }

    @Test func latin1FileIsRefusedWithOffsetLineAndColumn() throws {
        var bytes = Array("[\n  {\"model\": \"part.part\", \"pk\": 1, \"fields\": {\"name\": \"Caf".utf8)
        let offset = bytes.count
        bytes += [0xE9] + Array("\"}}\n]".utf8)
        do {
            _ = try RecordsFile.parse(Data(bytes), name: "latin1.json")
            Issue.record("a latin1 file was accepted")
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage)
            #expect(error.message.contains("byte offset \(offset)"), "\(error.message)")
            #expect(error.message.contains("0xE9"))
            #expect(error.message.contains("line 2"))
            #expect(error.hint?.contains("--convert-from") == true)
        }
    }

    @Test func convertFromLatin1ReencodesToUTF8() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("records-latin1-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = Array(#"[{"model": "part.part", "pk": 1, "fields": {"name": "Caf"#.utf8)
        bytes += [0xE9] + Array(#""}}]"#.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: UpshiftError.self) { try RecordsFile.read(path: path) }
        let (file, data) = try RecordsFile.read(path: path, convertFrom: RecordsFile.encoding(named: "latin1"))
        #expect(file.counts == ["part.part": 1])
        #expect(String(decoding: data, as: UTF8.self).contains("Café"))
        #expect(RecordsFile.firstInvalidUTF8Offset(data) == nil)
    }

    @Test func encodingNames() {
        #expect(RecordsFile.encoding(named: "latin1") == .isoLatin1)
        #expect(RecordsFile.encoding(named: "ISO-8859-1") == .isoLatin1)
        #expect(RecordsFile.encoding(named: "windows-1252") == .windowsCP1252)
        #expect(RecordsFile.encoding(named: "utf_16le") == .utf16LittleEndian)
        #expect(RecordsFile.encoding(named: "klingon") == nil)
        for name in RecordsFile.encodingNames { #expect(RecordsFile.encoding(named: name) != nil, "\(name)") }
    }

    @Test func splitPluginRecordsKeepsValuesAndShape() throws {
        let (core, plugin, count) = try RecordsFile.splitPluginRecords(Data(Self.sample.utf8))
        #expect(count == 1)
        let coreFile = try RecordsFile.parse(core, name: "core"), pluginFile = try RecordsFile.parse(plugin, name: "plugin")
        #expect(coreFile.counts == ["part.part": 2, "plugin.pluginconfig": 1] && coreFile.metadata != nil)
        #expect(pluginFile.counts == ["barcodeplus.scanlog": 1])
        // Booleans stay booleans and non-ASCII text survives the round trip.
        let text = String(decoding: core, as: UTF8.self)
        #expect(text.contains("\"active\" : true") || text.contains("\"active\":true"), "\(text)")
        #expect(text.contains("Ω") && text.contains("é"))
    }
}
