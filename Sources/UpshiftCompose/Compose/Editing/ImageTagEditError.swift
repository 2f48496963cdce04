import Foundation
import UpshiftSupport

/// Why the editor refused to touch a file. Each reason names what it found, so the user can make the
/// edit by hand or reshape the line; nothing has been written when this is thrown.
public struct ImageTagEditError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case unreadable
        case lineOutOfRange(count: Int)
        case notUTF8
        case notAnImageLine(String)
        case notAnAssignment(String)
        case digestPinned(String)
        case anchorOrAlias
        case anchoredBlock(line: Int)
        case mergeKey
        case flowOrBlockStyle
        case unsupportedQuoting
        case containsVariable(String)
        case nestedVariable(String)
        case variableNotOnLine(String)
        case unexpectedValue(expected: String, found: String)
        case ambiguous(lines: [Int])
        case variableNotFound(String)
        case variableSetInEnvironment(String)
        case multilineValue
        case mixedLineEndings
        case strayCarriageReturn
        case unversionedTag(String)
        case unchanged(String)
        case unsupportedForm(String)
        case fileChanged
    }

    public var file: String
    /// 1-based; 0 when the problem is not about one line.
    public var line: Int
    public var reason: Reason

    public init(file: String, line: Int, reason: Reason) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        let place = line > 0 ? "\(file) line \(line)" : file
        return "cannot change the image tag in \(place): \(explanation)"
    }

    var explanation: String {
        switch reason {
        case .unreadable: return "the file cannot be read"
        case .lineOutOfRange(let count): return "the file has only \(count) lines"
        case .notUTF8: return "the line is not valid UTF-8"
        case .notAnImageLine(let text): return "expected an `image:` line, found `\(text)`"
        case .notAnAssignment(let text): return "expected a variable assignment, found `\(text)`"
        case .digestPinned(let value): return "\(value) is pinned by digest; the engine would ignore a new tag"
        case .anchorOrAlias: return "the value is a YAML anchor or alias, shared with other places"
        case .anchoredBlock(let line): return "it sits inside the block anchored at line \(line), which other services may merge"
        case .mergeKey: return "the line is a YAML merge key (<<)"
        case .flowOrBlockStyle: return "the value is written in YAML flow or block style"
        case .unsupportedQuoting: return "the quoted value uses escapes"
        case .containsVariable(let value): return "\(value) contains a variable; edit where the variable is set"
        case .nestedVariable(let value): return "\(value) nests variables or defaults"
        case .variableNotOnLine(let name): return "the line has no `${\(name):-…}` default"
        case .unexpectedValue(let expected, let found): return "expected \(expected), found \(found)"
        case .ambiguous(let lines): return "the same value is defined on lines \(lines.map(String.init).joined(separator: ", ")); editing one is not safe"
        case .variableNotFound(let name): return "\(name) is not assigned in the file"
        case .variableSetInEnvironment(let name): return "\(name) is set in your shell and overrides every file; unset it or change it there"
        case .multilineValue: return "the value spans several lines"
        case .mixedLineEndings: return "the file mixes CRLF and LF line endings"
        case .strayCarriageReturn: return "the line contains a carriage return"
        case .unversionedTag(let tag): return "the tag \"\(tag)\" has no version number to change"
        case .unchanged(let value): return "\(value) already has the requested tag"
        case .unsupportedForm(let reason): return reason
        case .fileChanged: return "the file changed since the edit was prepared"
        }
    }

    /// The same refusal as the project's user-facing error (exit 1: nothing was changed).
    public var upshiftError: UpshiftError {
        UpshiftError(description, hint: "change the tag by hand, or rewrite the line as a plain `image: repo:tag`, then run again")
    }
}
