import Foundation

/// Finds the file a command name refers to, the way `execvp` would, but up front so a missing tool
/// becomes a clear error ("docker not found on PATH") instead of a spawn failure.
public enum ExecutableLocator {
    /// `name` itself when it contains a slash (made absolute against `workingDirectory`), else the first
    /// executable regular file named `name` in the colon-separated `path`.
    public static func locate(_ name: String, path: String?, workingDirectory: String? = nil) -> String? {
        let fm = FileManager.default
        if name.contains("/") {
            var full = name
            if !name.hasPrefix("/") {
                let base = workingDirectory ?? fm.currentDirectoryPath
                full = (base as NSString).appendingPathComponent(name)
            }
            return isExecutableFile(full) ? full : nil
        }
        guard !name.isEmpty else { return nil }
        let dirs = (path ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":", omittingEmptySubsequences: false)
        for dir in dirs {
            let base = dir.isEmpty ? "." : String(dir)
            let candidate = (base as NSString).appendingPathComponent(name)
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return false }
        return access(path, X_OK) == 0
    }
}
