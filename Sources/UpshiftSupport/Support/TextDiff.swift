import Foundation

/// The changed lines between two versions of a file, as a unified diff without context lines: the lines
/// around a compose edit are often `POSTGRES_PASSWORD` and must never reach a plan.
public enum TextDiff {
    public static func unified(old: String, new: String, label: String) -> String {
        let a = old.components(separatedBy: "\n")
        let b = new.components(separatedBy: "\n")
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let removed = a[prefix..<(a.count - suffix)]
        let added = b[prefix..<(b.count - suffix)]
        var lines = ["--- \(label)", "+++ \(label)", "@@ -\(prefix + 1),\(removed.count) +\(prefix + 1),\(added.count) @@"]
        lines += removed.map { "-" + $0 } + added.map { "+" + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}
