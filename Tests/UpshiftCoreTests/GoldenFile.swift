import Foundation
import Testing

/// Golden files under `Fixtures/golden-plans/` in the source tree (found through `#filePath`, so the files
/// compared are the committed ones, not a copy in the test bundle).
///
/// With `UPSHIFT_UPDATE_GOLDEN=1` in the environment the actual text is written instead of compared: run the
/// tests that way after changing a plan on purpose, then review `git diff` of the golden files and commit them.
enum GoldenFile {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden-plans").path
    static var updating: Bool { ProcessInfo.processInfo.environment["UPSHIFT_UPDATE_GOLDEN"] == "1" }

    static func path(_ name: String) -> String { directory + "/" + name }

    /// Compares `actual` with the golden file `name` (or writes it when updating), recording one issue with
    /// a diff of the first differing lines.
    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let path = path(name)
        if updating {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try Data(actual.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                Issue.record("cannot write golden file \(path): \(error)", sourceLocation: sourceLocation)
            }
            return
        }
        guard let expected = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            Issue.record("no golden file \(path); create it with UPSHIFT_UPDATE_GOLDEN=1 swift test --filter GoldenPlan", sourceLocation: sourceLocation)
            return
        }
        if let diff = mismatch(actual, expected: expected, label: name) {
            Issue.record("\(name) differs from the golden file (rerun with UPSHIFT_UPDATE_GOLDEN=1 if the change is intended):\n\(diff)", sourceLocation: sourceLocation)
        }
    }

    /// `nil` when the texts are equal, else the diff `check` reports. Never writes.
    static func mismatch(_ actual: String, expected: String, label: String) -> String? {
        expected == actual ? nil : diff(expected: expected, actual: actual, label: label)
    }

    /// A unified-style diff of the first region where the two texts differ: three lines of context, then the
    /// expected lines (`-`) and the actual ones (`+`) up to where they agree again (at most `limit` of each).
    static func diff(expected: String, actual: String, label: String, context: Int = 3, limit: Int = 20) -> String {
        let old = expected.components(separatedBy: "\n")
        let new = actual.components(separatedBy: "\n")
        var start = 0
        while start < old.count, start < new.count, old[start] == new[start] { start += 1 }
        // The end of the differing region: the longest common suffix that does not reach back past `start`.
        var oldEnd = old.count
        var newEnd = new.count
        while oldEnd > start, newEnd > start, old[oldEnd - 1] == new[newEnd - 1] {
            oldEnd -= 1
            newEnd -= 1
        }
        let from = max(0, start - context)
        var lines = ["--- \(label) (golden)", "+++ \(label) (actual)",
                     "@@ -\(from + 1),\(oldEnd - from) +\(from + 1),\(newEnd - from) @@"]
        lines += old[from..<start].map { " " + $0 }
        lines += old[start..<min(oldEnd, start + limit)].map { "-" + $0 }
        if oldEnd - start > limit { lines.append("-… \(oldEnd - start - limit) more") }
        lines += new[start..<min(newEnd, start + limit)].map { "+" + $0 }
        if newEnd - start > limit { lines.append("+… \(newEnd - start - limit) more") }
        lines += old[oldEnd..<min(old.count, oldEnd + context)].map { " " + $0 }
        return lines.joined(separator: "\n")
    }
}
