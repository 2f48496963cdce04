import Foundation

/// Finds which file and line define a service's `image:`, and where a variable in it gets its value.
///
/// This is deliberately a minimal line scan, not a YAML parser: the project depends on no YAML library
/// (compose's own `config` resolves the model), and the only question here is "which line would a person
/// edit". The scan understands block-style compose files as people write them: a top-level `services:` key,
/// service keys one indentation step below, an `image:` key one step below the service. Anything cleverer
/// (flow style `{image: …}`, anchors/aliases, `extends`, `include`, merge keys) is not matched, so the
/// result is "not found" rather than a wrong line; the editor re-verifies every edit with `config` anyway.
public struct ImageSourceLocator: Sendable {
    /// Compose files in merge order (later overrides earlier).
    public var files: [String]
    /// Env files in effect, in override order (later wins), as `ComposeProjectLocation.envFiles`.
    public var envFiles: [String]
    /// upshift's own environment: a variable set here beats every file (compose's rule).
    public var environment: [String: String]
    public var readFile: @Sendable (String) -> String?

    public init(
        files: [String], envFiles: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
        readFile: @escaping @Sendable (String) -> String? = { path in
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        }
    ) {
        self.files = files
        self.envFiles = envFiles
        self.environment = environment
        self.readFile = readFile
    }

    /// The definition of `service`'s image, or `nil` when no file has a plain `image:` line for it.
    public func locate(service: String) -> ImageSource? {
        var found: (file: String, line: Int, value: String)?
        for file in files {
            guard let text = readFile(file) else { continue }
            if let hit = Self.findImageLine(service: service, in: text) { found = (file, hit.line, hit.value) }
        }
        guard let found else { return nil }
        return ImageSource(
            service: service, file: found.file, line: found.line, rawValue: found.value, kind: classify(found.value))
    }

    // MARK: - Variables

    func classify(_ value: String) -> ImageSource.Kind {
        if value.hasPrefix("*") { return .unsupported(reason: "the image is a YAML alias") }
        let references = Self.variableReferences(in: value)
        if references.isEmpty { return .literal }
        guard references.count == 1, let reference = references.first else {
            return .unsupported(reason: "the image uses several variables")
        }
        // Only a variable in the tag (`postgres:${TAG}`) or the whole reference (`${IMAGE:-postgres:15}`) is
        // editable; `${REGISTRY}/postgres:15` is not.
        let prefix = value[..<reference.range.lowerBound]
        let isWholeValue = prefix.isEmpty && reference.range.upperBound == value.endIndex
        let lastComponent = prefix.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if !isWholeValue && !lastComponent.contains(":") {
            return .unsupported(reason: "the variable \(reference.name) is not in the tag")
        }
        if environment[reference.name] != nil { return .shellEnvironment(name: reference.name) }
        for envFile in envFiles.reversed() {
            guard let text = readFile(envFile) else { continue }
            let dotEnv = DotEnvFile(path: envFile, text: text)
            if let entry = dotEnv.entry(reference.name) {
                // `${VAR:-d}` uses the default for an empty value too; `${VAR-d}` only when unset.
                if entry.value.isEmpty, reference.defaultOnEmpty, let def = reference.defaultValue {
                    return .default(name: reference.name, value: def)
                }
                return .envVariable(name: reference.name, envFile: envFile, line: entry.line)
            }
        }
        if let def = reference.defaultValue { return .default(name: reference.name, value: def) }
        return .unsupported(reason: "the variable \(reference.name) is set nowhere and has no default")
    }

    struct VariableReference {
        var name: String
        var defaultValue: String?
        var defaultOnEmpty: Bool
        var range: Range<String.Index>
    }

    /// `$NAME`, `${NAME}`, `${NAME:-d}`, `${NAME-d}`, `${NAME:?e}`…; `$$` is a literal dollar.
    static func variableReferences(in value: String) -> [VariableReference] {
        var result: [VariableReference] = []
        var index = value.startIndex
        while index < value.endIndex {
            guard value[index] == "$" else { index = value.index(after: index); continue }
            let next = value.index(after: index)
            guard next < value.endIndex else { break }
            if value[next] == "$" { index = value.index(after: next); continue }
            if value[next] == "{" {
                // Find the matching brace (defaults may nest `${A:-${B}}`).
                var depth = 0
                var end = next
                while end < value.endIndex {
                    if value[end] == "{" { depth += 1 }
                    if value[end] == "}" { depth -= 1; if depth == 0 { break } }
                    end = value.index(after: end)
                }
                guard end < value.endIndex else { break }
                let body = String(value[value.index(after: next)..<end])
                let name = String(body.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" }))
                let rest = body.dropFirst(name.count)
                var defaultValue: String?
                var onEmpty = false
                if rest.hasPrefix(":-") { defaultValue = String(rest.dropFirst(2)); onEmpty = true }
                else if rest.hasPrefix("-") { defaultValue = String(rest.dropFirst(1)) }
                result.append(VariableReference(
                    name: name, defaultValue: defaultValue, defaultOnEmpty: onEmpty,
                    range: index..<value.index(after: end)))
                index = value.index(after: end)
            } else if value[next].isLetter || value[next] == "_" {
                var end = next
                while end < value.endIndex, value[end].isLetter || value[end].isNumber || value[end] == "_" {
                    end = value.index(after: end)
                }
                result.append(VariableReference(
                    name: String(value[next..<end]), defaultValue: nil, defaultOnEmpty: false, range: index..<end))
                index = end
            } else {
                index = next
            }
        }
        return result
    }

    // MARK: - The line scan

    /// The `image:` line of `service` in one compose file's text: (1-based line, value without quotes or
    /// comment).
    public static func findImageLine(service: String, in text: String) -> (line: Int, value: String)? {
        let lines = ComposeText.lines(text)
        enum State { case top, inServices(indent: Int?), inService(serviceIndent: Int, childIndent: Int?) }
        var state = State.top
        for (offset, line) in lines.enumerated() {
            let content = line.drop(while: { $0 == " " })
            if content.isEmpty || content.hasPrefix("#") { continue }
            let indent = line.count - content.count
            if indent == 0 {
                state = key(of: content) == "services" ? .inServices(indent: nil) : .top
                continue
            }
            switch state {
            case .top:
                continue
            case .inServices(let childIndent):
                let level = childIndent ?? indent
                if indent == level {
                    state = key(of: content) == service ? .inService(serviceIndent: level, childIndent: nil) : .inServices(indent: level)
                } else {
                    state = .inServices(indent: level)
                }
            case .inService(let serviceIndent, let childIndent):
                if indent <= serviceIndent {
                    // A sibling service starts; it might be ours again only in a malformed file.
                    state = key(of: content) == service ? .inService(serviceIndent: serviceIndent, childIndent: nil)
                        : .inServices(indent: serviceIndent)
                    continue
                }
                let level = childIndent ?? indent
                state = .inService(serviceIndent: serviceIndent, childIndent: level)
                if indent == level, key(of: content) == "image", let value = value(of: content) {
                    return (offset + 1, value)
                }
            }
        }
        return nil
    }

    /// The mapping key of a block line (`name:` / `"name":`), or `nil` for a list item or scalar.
    static func key(of content: Substring) -> String? {
        guard let colon = keyColon(in: content) else { return nil }
        var key = content[..<colon].trimmingCharacters(in: .whitespaces)
        if key.count >= 2, let first = key.first, first == "\"" || first == "'", key.last == first {
            key = String(key.dropFirst().dropLast())
        }
        return key
    }

    /// The index of the `:` ending a mapping key (followed by a space or end of line).
    static func keyColon(in content: Substring) -> Substring.Index? {
        if content.hasPrefix("-") { return nil }
        var quote: Character?
        var index = content.startIndex
        while index < content.endIndex {
            let ch = content[index]
            if let q = quote {
                if ch == q { quote = nil }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == ":" {
                let next = content.index(after: index)
                if next == content.endIndex || content[next] == " " || content[next] == "\t" { return index }
            } else if ch == "#" {
                return nil
            }
            index = content.index(after: index)
        }
        return nil
    }

    /// The scalar after `image:`, unquoted and without a trailing comment.
    static func value(of content: Substring) -> String? {
        guard let colon = keyColon(in: content) else { return nil }
        var rest = content[content.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        if rest.isEmpty { return nil }
        if let first = rest.first, first == "\"" || first == "'" {
            guard let close = rest.dropFirst().firstIndex(of: first) else { return nil }
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let range = rest.range(of: #"\s#"#, options: .regularExpression) { rest = String(rest[..<range.lowerBound]) }
        rest = rest.trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("|") || rest.hasPrefix(">") || rest.hasPrefix("{") || rest.hasPrefix("[") { return nil }
        return rest
    }
}
