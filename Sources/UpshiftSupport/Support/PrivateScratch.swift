import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder only this user can read (mkdtemp, 0700) in the system's temporary directory.
///
/// Why: some undo work needs a file (a compose override) while the run folder's filesystem may be the
/// thing that failed (full). The temporary directory is usually elsewhere, and the file holds no secret.
package enum PrivateScratch {
    package static func make(prefix: String) throws -> String {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array((base + "/" + prefix + "-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw UpshiftError("cannot create a temporary folder in \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }
}
