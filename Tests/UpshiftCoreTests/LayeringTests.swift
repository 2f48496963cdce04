import Foundation
import Testing

/// The layers the compiler cannot see: SwiftPM refuses a reference from a lower target to a higher one, but
/// inside a target any file may use any other. These tests keep the folders of each target (PgUpgrade,
/// AppUpdate, Backup … inside UpshiftCore) free of cycles, so each folder could become a target of its own,
/// and keep the compensator registry assembled in one file.
@Suite struct LayeringTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(arguments: ["UpshiftCore", "UpshiftApps", "UpshiftCompose", "UpshiftPlans", "UpshiftSupport"])
    func foldersOfATargetFormNoCycle(target: String) throws {
        let graph = try FolderGraph(directory: Self.packageRoot + "/Sources/" + target)
        #expect(!graph.folders.isEmpty, "no Swift files found under Sources/\(target)")
        if let cycle = graph.cycle() {
            Issue.record("Sources/\(target) has a folder cycle: \(graph.describe(cycle))")
        }
    }

    @Test func theCheckFindsABackReference() {
        let layered: [(path: String, source: String)] = [
            ("Low/Low.swift", "struct Low { var size: Int }"),
            ("High/High.swift", "struct High { var low: Low }"),
        ]
        #expect(FolderGraph(files: layered).cycle() == nil)
        #expect(FolderGraph(files: layered).edges == ["High": ["Low": ["Low"]]])
        // One use of the higher folder's type from the lower one closes the cycle.
        let backReference = layered + [("Low/Low+High.swift", "extension Low { func lift() -> High? { nil } }")]
        #expect(FolderGraph(files: backReference).cycle() == ["High", "Low", "High"])
        // Inside an interpolation it is code, too.
        let interpolated = layered + [("Low/Text.swift", #"let text = "\(High.self) and \(1 + (2))""#)]
        #expect(FolderGraph(files: interpolated).cycle() != nil)
    }

    @Test func commentsStringsMembersAndNestedNamesAreNoReference() {
        let files: [(path: String, source: String)] = [
            ("Low/Low.swift", ##"""
                /* High, /* nested */ High */
                struct Low {
                    enum State { case high }          // High
                    var state: State = .high
                    var text = "High \(1) High"
                    var raw = #"High "\#(2)" High"#
                    var multi = """
                        High "High"
                        """
                    var member: Int { Low.High }
                    static var High: Int { 0 }
                }
                """##),
            ("High/High.swift", """
                struct High { var low: Low }
                struct State {}
                """),
        ]
        let graph = FolderGraph(files: files)
        #expect(graph.edges == ["High": ["Low": ["Low"]]])
        #expect(graph.cycle() == nil)
    }

    /// `CompensatorRegistry.swift` lists every compensator, so `upshift rollback` can undo every kind a
    /// planner journals: a `Compensating` type anywhere in Sources must be registered there.
    @Test func everyCompensatorIsRegisteredInTheOneRegistryFile() throws {
        let registry = try String(contentsOfFile: Self.packageRoot + "/Sources/UpshiftCore/CompensatorRegistry.swift", encoding: .utf8)
        let conforming = try FolderGraph.swiftFiles(under: Self.packageRoot + "/Sources").flatMap { path in
            FolderGraph.typesConforming(to: "Compensating", in: SwiftCode.stripped(try String(contentsOfFile: path, encoding: .utf8)))
        }
        // A closure with a kind chosen by its caller (tests, ad-hoc undo): nothing to register.
        let unregistrable: Set<String> = ["ClosureCompensator"]
        let compensators = Set(conforming).subtracting(unregistrable)
        #expect(compensators.count >= 10, "found only \(compensators.sorted())")
        for name in compensators.sorted() {
            #expect(registry.contains(".registering(\(name).kind, \(name)("), "\(name) is not registered in CompensatorRegistry.swift")
        }
    }
}

/// Which folder of a target uses which: folder A depends on folder B when A's code names a type, function
/// or constant declared at the top level of a file in B. Comments and string text are no use (interpolated
/// code is), nor is a member (`x.Name`), nor a name A declares itself at any depth (a nested `State`).
struct FolderGraph {
    /// folder -> folder it uses -> the names that make it use it.
    private(set) var edges: [String: [String: Set<String>]] = [:]
    private(set) var folders: Set<String> = []

    init(directory: String) throws {
        let files = try Self.swiftFiles(under: directory).map { path in
            (path: String(path.dropFirst(directory.count + 1)), source: try String(contentsOfFile: path, encoding: .utf8))
        }
        self.init(files: files)
    }

    /// `path` relative to the target: its first component is the folder ("." for a file at the root).
    init(files: [(path: String, source: String)]) {
        let parsed = files.map { file -> (folder: String, code: String) in
            let parts = file.path.split(separator: "/")
            return (parts.count > 1 ? String(parts[0]) : ".", SwiftCode.stripped(file.source))
        }
        var topLevel: [String: Set<String>] = [:]  // name -> folders declaring it at the top level
        var declared: [String: Set<String>] = [:]  // folder -> every name it declares, at any depth
        for (folder, code) in parsed {
            folders.insert(folder)
            let declarations = SwiftCode.declarations(in: code)
            for declaration in declarations where declaration.topLevel && !declaration.isPrivate {
                topLevel[declaration.name, default: []].insert(folder)
            }
            declared[folder, default: []].formUnion(declarations.map(\.name))
        }
        for (folder, code) in parsed {
            for name in SwiftCode.referencedNames(in: code) where !(declared[folder]?.contains(name) ?? false) {
                for other in topLevel[name] ?? [] where other != folder {
                    edges[folder, default: [:]][other, default: []].insert(name)
                }
            }
        }
    }

    /// A cycle as a path that starts and ends with the same folder; `nil` when the folders are layered.
    func cycle() -> [String]? {
        var state: [String: Bool] = [:]  // false = on the current path, true = done
        var path: [String] = []
        func visit(_ folder: String) -> [String]? {
            if let done = state[folder] {
                guard !done, let start = path.firstIndex(of: folder) else { return nil }
                return Array(path[start...]) + [folder]
            }
            state[folder] = false
            path.append(folder)
            for next in (edges[folder] ?? [:]).keys.sorted() {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            state[folder] = true
            return nil
        }
        for folder in folders.sorted() {
            if let cycle = visit(folder) { return cycle }
        }
        return nil
    }

    func describe(_ cycle: [String]) -> String {
        zip(cycle, cycle.dropFirst()).map { from, to in
            "\(from) -> \(to) (\((edges[from]?[to] ?? []).sorted().prefix(5).joined(separator: ", ")))"
        }.joined(separator: ", ")
    }

    static func swiftFiles(under directory: String) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: directory])
        }
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted().map { directory + "/" + $0 }
    }

    /// Types declared (or extended) with `protocolName` among their conformances.
    static func typesConforming(to protocolName: String, in code: String) -> [String] {
        let pattern = #"\b(?:struct|class|enum|actor|extension)\s+(\w+)\s*(?:<[^>{]*>)?\s*:([^{]*)\{"#
        let regex = try! NSRegularExpression(pattern: pattern)
        let text = code as NSString
        return regex.matches(in: code, range: NSRange(location: 0, length: text.length)).compactMap { match in
            let conformances = text.substring(with: match.range(at: 2))
            let names = conformances.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
            return names.contains(Substring(protocolName)) ? text.substring(with: match.range(at: 1)) : nil
        }
    }
}

/// Just enough of Swift's lexical structure to find declarations and references.
enum SwiftCode {
    struct Declaration: Hashable {
        var name: String
        var topLevel: Bool
        var isPrivate: Bool
    }

    /// `source` with comments and string literal text blanked (newlines kept); the code inside `\(…)` stays.
    static func stripped(_ source: String) -> String {
        var lexer = Lexer(bytes: Array(source.utf8))
        lexer.code(interpolation: false)
        return String(decoding: lexer.out, as: UTF8.self)
    }

    private static let declarationKeywords: Set<String> = ["struct", "enum", "class", "protocol", "typealias", "actor", "func", "let", "var"]
    private static let typeKeywords: Set<String> = ["struct", "enum", "class", "protocol", "typealias", "actor"]

    /// Types at any depth; functions, constants and variables at the top level (members are reached
    /// through their type).
    static func declarations(in code: String) -> [Declaration] {
        var result: [Declaration] = []
        var depth = 0
        var lineModifiers: [String] = []
        var pendingKeyword: String?
        for token in tokens(code) {
            switch token {
            case .open: depth += 1; pendingKeyword = nil
            case .close: depth -= 1; pendingKeyword = nil
            case .newline: lineModifiers = []
            case .dot, .other: pendingKeyword = nil
            case .identifier(let word):
                if let keyword = pendingKeyword {
                    pendingKeyword = nil
                    if typeKeywords.contains(keyword) || depth == 0 {
                        let isPrivate = lineModifiers.contains("private") || lineModifiers.contains("fileprivate")
                        result.append(Declaration(name: word, topLevel: depth == 0, isPrivate: isPrivate))
                    }
                } else if declarationKeywords.contains(word) {
                    pendingKeyword = word
                }
                lineModifiers.append(word)
            }
        }
        return result
    }

    /// Every identifier that is not a member (`.name`) nor the name a declaration introduces.
    static func referencedNames(in code: String) -> Set<String> {
        var names: Set<String> = []
        var skipNext = false
        for token in tokens(code) {
            switch token {
            case .identifier(let word):
                if !skipNext { names.insert(word) }
                skipNext = word == "case" || declarationKeywords.contains(word)
            case .dot: skipNext = true
            default: skipNext = false
            }
        }
        return names
    }

    enum Token: Equatable {
        case identifier(String), open, close, dot, newline, other
    }

    static func tokens(_ code: String) -> [Token] {
        var tokens: [Token] = []
        var word: [UInt8] = []
        func flush() {
            // A number is not an identifier.
            if let first = word.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
                tokens.append(.identifier(String(decoding: word, as: UTF8.self)))
            }
            word = []
        }
        for byte in code.utf8 {
            let letter = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            if letter || byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte >= 0x80 {
                word.append(byte)
                continue
            }
            flush()
            switch byte {
            case UInt8(ascii: "{"): tokens.append(.open)
            case UInt8(ascii: "}"): tokens.append(.close)
            case UInt8(ascii: "."): tokens.append(.dot)
            case UInt8(ascii: "\n"), UInt8(ascii: ";"): tokens.append(.newline)
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): break
            default: tokens.append(.other)
            }
        }
        flush()
        return tokens
    }

    private struct Lexer {
        let bytes: [UInt8]
        var i = 0
        var out: [UInt8] = []

        init(bytes: [UInt8]) { self.bytes = bytes }

        func at(_ offset: Int) -> UInt8? { i + offset < bytes.count ? bytes[i + offset] : nil }
        func startsWith(_ text: String, at offset: Int = 0) -> Bool {
            let needle = Array(text.utf8)
            guard i + offset + needle.count <= bytes.count else { return false }
            return Array(bytes[(i + offset)..<(i + offset + needle.count)]) == needle
        }

        /// Copies code until the end (or the `)` closing an interpolation), blanking comments and strings.
        mutating func code(interpolation: Bool) {
            var parens = 0
            while i < bytes.count {
                let c = bytes[i]
                if startsWith("//") {
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                } else if startsWith("/*") {
                    var depth = 0
                    repeat {
                        if startsWith("/*") { depth += 1; i += 2 }
                        else if startsWith("*/") { depth -= 1; i += 2 }
                        else { if bytes[i] == UInt8(ascii: "\n") { out.append(bytes[i]) }; i += 1 }
                    } while depth > 0 && i < bytes.count
                } else if c == UInt8(ascii: "\"") || (c == UInt8(ascii: "#") && rawStringStarts()) {
                    string()
                } else if interpolation, c == UInt8(ascii: "(") {
                    parens += 1; out.append(c); i += 1
                } else if interpolation, c == UInt8(ascii: ")") {
                    i += 1
                    if parens == 0 { return }
                    parens -= 1; out.append(c)
                } else {
                    out.append(c); i += 1
                }
            }
        }

        func rawStringStarts() -> Bool {
            var j = i
            while j < bytes.count, bytes[j] == UInt8(ascii: "#") { j += 1 }
            return j < bytes.count && bytes[j] == UInt8(ascii: "\"")
        }

        /// Skips a string literal at `i` (`"…"`, `"""…"""`, `#"…"#`), keeping the code of its interpolations.
        mutating func string() {
            var hashes = 0
            while bytes[i] == UInt8(ascii: "#") { hashes += 1; i += 1 }
            let multiLine = startsWith("\"\"\"")
            i += multiLine ? 3 : 1
            let close = (multiLine ? "\"\"\"" : "\"") + String(repeating: "#", count: hashes)
            let escape = "\\" + String(repeating: "#", count: hashes)
            out.append(UInt8(ascii: " "))
            while i < bytes.count {
                if startsWith(close) {
                    i += close.utf8.count
                    out.append(UInt8(ascii: " "))
                    return
                }
                if startsWith(escape) {
                    i += escape.utf8.count
                    if at(0) == UInt8(ascii: "(") {
                        i += 1
                        out.append(UInt8(ascii: " "))
                        code(interpolation: true)
                        out.append(UInt8(ascii: " "))
                    } else {
                        i += 1  // the escaped character
                    }
                    continue
                }
                if bytes[i] == UInt8(ascii: "\n") { out.append(bytes[i]) }
                i += 1
            }
        }
    }
}
