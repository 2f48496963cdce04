import Foundation
import UpshiftSupport

/// Changes an image tag by a minimal textual edit of the one line (or the one `.env` variable) that
/// defines it, refusing whenever that edit might not mean what it says (DESIGN principle 2).
///
/// Everything but the value is preserved byte for byte: indentation, quotes, comments, line endings,
/// BOM, a missing final newline. The caller re-reads the project with `docker compose config` after
/// `apply`, and calls `revert` (or restores the run snapshot) when the result is not exactly the intended
/// image.
public struct ImageTagEditor: Sendable {
    /// upshift's own environment: a variable set here beats every env file, so editing the file would
    /// change nothing.
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    // MARK: - Prepare

    /// Reads `target.file` and prepares the edit; writes nothing.
    public func prepare(_ target: ImageTagEditTarget, change: TagChange) throws -> ImageTagEdit {
        guard let data = FileManager.default.contents(atPath: target.file) else {
            throw ImageTagEditError(file: target.file, line: 0, reason: .unreadable)
        }
        return try edit(contents: data, target: target, change: change)
    }

    /// Prepares the edit of `contents` (the bytes of `target.file`). Pure.
    public func edit(contents: Data, target: ImageTagEditTarget, change: TagChange) throws -> ImageTagEdit {
        let text = EditableText(contents)
        func fail(_ line: Int, _ reason: ImageTagEditError.Reason) -> ImageTagEditError {
            ImageTagEditError(file: target.file, line: line, reason: reason)
        }
        guard !text.mixesLineEndings else { throw fail(0, .mixedLineEndings) }

        let lineNumber: Int
        let range: Range<String.Index>
        let oldValue: String
        let newValue: String
        let isEnv: Bool

        switch target.location {
        case .imageLine(let number), .inlineDefault(let number, _):
            let line = try lineText(text, number, fail)
            let parsed: ComposeImageLine
            do { parsed = try ComposeImageLine.parse(line) } catch let failure as ComposeImageLine.Failure {
                switch failure {
                case .notImageLine: throw fail(number, .notAnImageLine(line.trimmingCharacters(in: .whitespaces)))
                case .anchorOrAlias: throw fail(number, line.contains("<<") ? .mergeKey : .anchorOrAlias)
                case .flowOrBlock: throw fail(number, .flowOrBlockStyle)
                case .quoting: throw fail(number, .unsupportedQuoting)
                }
            }
            if let anchorLine = anchoredAncestor(of: number, in: text) { throw fail(number, .anchoredBlock(line: anchorLine)) }
            lineNumber = number
            isEnv = false
            if case .inlineDefault(_, let variable) = target.location {
                let found = try inlineDefault(in: parsed, of: line, variable: variable, number: number, fail)
                oldValue = found.value
                range = found.range
            } else {
                if parsed.value.contains("$") { throw fail(number, .containsVariable(parsed.value)) }
                oldValue = parsed.value
                range = parsed.valueRange
            }
            // The same image written on another line (another service) would keep the old tag, or be meant
            // to change too: either way one edit is not the whole story.
            let same = text.texts.enumerated().compactMap { index, candidate -> Int? in
                guard let candidate, let other = try? ComposeImageLine.parse(candidate), other.value == parsed.value else { return nil }
                return index + 1
            }
            if same.contains(where: { $0 != number && !target.alsoSwitchedLines.contains($0) }) { throw fail(number, .ambiguous(lines: same)) }
            if let expected = target.expectedValue, expected != oldValue {
                throw fail(number, .unexpectedValue(expected: expected, found: oldValue))
            }
            let isLiteral = if case .imageLine = target.location { true } else { false }
            newValue = try rewrite(oldValue, change: change, isReference: isLiteral, line: number, fail)

        case .envVariable(let name, let expectedLine):
            if environment[name] != nil { throw fail(expectedLine ?? 0, .variableSetInEnvironment(name)) }
            let definitions = text.texts.enumerated().compactMap { index, candidate -> Int? in
                guard let candidate, EnvAssignmentLine.assignedName(candidate) == name else { return nil }
                return index + 1
            }
            guard let number = definitions.first else { throw fail(0, .variableNotFound(name)) }
            if definitions.count > 1 { throw fail(number, .ambiguous(lines: definitions)) }
            if let expectedLine, expectedLine != number {
                throw fail(expectedLine, .notAnAssignment((try? lineText(text, expectedLine, fail)) ?? ""))
            }
            let line = try lineText(text, number, fail)
            let parsed: EnvAssignmentLine
            do { parsed = try EnvAssignmentLine.parse(line) } catch let failure as EnvAssignmentLine.Failure {
                switch failure {
                case .notAssignment: throw fail(number, .notAnAssignment(name))
                case .multiline: throw fail(number, .multilineValue)
                case .quoting: throw fail(number, .unsupportedQuoting)
                }
            }
            if parsed.value.contains("$") { throw fail(number, .containsVariable(parsed.value)) }
            if let expected = target.expectedValue, expected != parsed.value {
                throw fail(number, .unexpectedValue(expected: expected, found: parsed.value))
            }
            lineNumber = number
            isEnv = true
            oldValue = parsed.value
            range = parsed.valueRange
            newValue = try rewrite(oldValue, change: change, line: number, fail)
        }

        let oldLine = try lineText(text, lineNumber, fail)
        var newLine = oldLine
        newLine.replaceSubrange(range, with: newValue)
        return ImageTagEdit(
            file: target.file, lineNumber: lineNumber, oldLine: oldLine, newLine: newLine, oldValue: oldValue, newValue: newValue,
            originalContents: contents, editedContents: text.replacing(line: lineNumber, with: newLine), isEnvFile: isEnv)
    }

    private func lineText(_ text: EditableText, _ number: Int, _ fail: (Int, ImageTagEditError.Reason) -> ImageTagEditError) throws -> String {
        guard number >= 1, number <= text.lines.count else { throw fail(number, .lineOutOfRange(count: text.lines.count)) }
        guard let line = text.text(number) else { throw fail(number, .notUTF8) }
        guard !line.contains("\r") else { throw fail(number, .strayCarriageReturn) }
        return line
    }

    private func rewrite(_ value: String, change: TagChange, isReference: Bool = false, line: Int, _ fail: (Int, ImageTagEditError.Reason) -> ImageTagEditError) throws -> String {
        do {
            return try TagRewriter.rewrite(value: value, change: change, isReference: isReference)
        } catch let failure as TagRewriter.Failure {
            switch failure {
            case .digest: throw fail(line, .digestPinned(value))
            case .unversioned(let tag): throw fail(line, .unversionedTag(tag))
            case .unchanged: throw fail(line, .unchanged(value))
            }
        }
    }

    /// Finds the default of `${variable:-default}` / `${variable-default}` in the line's value: the only
    /// variable there, its default plain (no nested `${…}`). The range is in `line`'s indices.
    private func inlineDefault(
        in parsed: ComposeImageLine, of line: String, variable: String, number: Int, _ fail: (Int, ImageTagEditError.Reason) -> ImageTagEditError
    ) throws -> (value: String, range: Range<String.Index>) {
        let value = line[parsed.valueRange] // shares indices with `line`
        guard value.filter({ $0 == "$" }).count == 1 else {
            throw fail(number, value.contains("$") ? .nestedVariable(String(value)) : .variableNotOnLine(variable))
        }
        var openRange: Range<String.Index>?
        for opener in ["${\(variable):-", "${\(variable)-"] {
            if let found = value.range(of: opener) { openRange = found; break }
        }
        guard let openRange else { throw fail(number, .variableNotOnLine(variable)) }
        guard let close = value[openRange.upperBound...].firstIndex(of: "}") else { throw fail(number, .nestedVariable(String(value))) }
        let defaultValue = value[openRange.upperBound..<close]
        if defaultValue.contains("{") || defaultValue.isEmpty { throw fail(number, .nestedVariable(String(value))) }
        return (String(defaultValue), openRange.upperBound..<close)
    }

    /// The line of the nearest enclosing block that carries a YAML anchor (`x-base: &base`), if any:
    /// editing inside it would change every service that merges it.
    private func anchoredAncestor(of number: Int, in text: EditableText) -> Int? {
        let texts = text.texts
        guard var indent = texts[number - 1].flatMap(ComposeImageLine.indentation) else { return nil }
        var index = number - 2
        while index >= 0, indent > 0 {
            if let line = texts[index], let lineIndent = ComposeImageLine.indentation(line), lineIndent < indent {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.contains(": &") || trimmed.contains(":\t&") || trimmed.hasPrefix("- &") || trimmed.hasPrefix("&") { return index + 1 }
                indent = lineIndent
            }
            index -= 1
        }
        return nil
    }

    // MARK: - Apply and revert

    /// Writes the edited bytes atomically, keeping the file's mode (and owner, when permitted).
    ///
    /// - Throws: `ImageTagEditError.fileChanged` when the file no longer holds the bytes the edit was
    ///   prepared from; nothing is written then.
    public func apply(_ edit: ImageTagEdit) throws {
        try replace(edit.file, expecting: edit.originalContents, alreadyDone: edit.editedContents, with: edit.editedContents, line: edit.lineNumber)
    }

    /// Puts the original bytes back when the file still holds exactly the edited bytes (idempotent: a file
    /// already back to the original is left alone). Anything else is refused: restore the run snapshot.
    public func revert(_ edit: ImageTagEdit) throws {
        try replace(edit.file, expecting: edit.editedContents, alreadyDone: edit.originalContents, with: edit.originalContents, line: edit.lineNumber)
    }

    private func replace(_ file: String, expecting: Data, alreadyDone: Data, with new: Data, line: Int) throws {
        let path = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
        guard let current = FileManager.default.contents(atPath: path) else {
            throw ImageTagEditError(file: file, line: 0, reason: .unreadable)
        }
        if current == alreadyDone { return }
        guard current == expecting else { throw ImageTagEditError(file: file, line: line, reason: .fileChanged) }
        let attributes = try DurableFile.attributes(path)
        try DurableFile.atomicWrite(new, to: path, mode: attributes.mode, owner: (attributes.uid, attributes.gid))
    }
}
