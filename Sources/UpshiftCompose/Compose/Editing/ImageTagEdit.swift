import Foundation
import UpshiftSupport

/// A prepared edit: the one line that changes, before and after, and the whole file both ways. Pure
/// data: preparing it writes nothing, so `--dry-run` can show the diff and tests can compare bytes.
public struct ImageTagEdit: Sendable, Hashable {
    public var file: String
    /// 1-based number of the changed line.
    public var lineNumber: Int
    public var oldLine: String
    public var newLine: String
    /// The value that changed (`postgres:15-alpine`, `15`, the inline default), before and after.
    public var oldValue: String
    public var newValue: String
    public var originalContents: Data
    public var editedContents: Data
    /// Whether the file is an env file (its other lines may hold secrets and are never shown).
    public var isEnvFile: Bool

    /// A unified-diff rendering of the change. Compose files get `context` lines around it; env files
    /// none, because their neighbouring lines are usually passwords.
    public func diff(context: Int = 2, label: String? = nil) -> String {
        let name = label ?? file
        let text = EditableText(originalContents)
        let shown = isEnvFile ? 0 : max(0, context)
        let first = max(1, lineNumber - shown)
        let last = min(text.lines.count, lineNumber + shown)
        var lines = ["--- \(name)", "+++ \(name)", "@@ -\(first),\(last - first + 1) +\(first),\(last - first + 1) @@"]
        for number in first...last {
            if number == lineNumber {
                lines.append("-" + oldLine)
                lines.append("+" + newLine)
            } else {
                lines.append(" " + ResolvedConfigMask.maskingSecretValue(String(decoding: text.bytes[text.lines[number - 1].content], as: UTF8.self)))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
