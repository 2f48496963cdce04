import Foundation
import UpshiftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Payload of a host-side rename: the step renamed `from` to `to`.
public struct RenamePayload: Sendable, Hashable, Codable {
    public var from: String
    public var to: String
    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// Undoes "rename A to B" by renaming B back to A, deciding from what exists rather than from what the
/// journal says happened (the rename may or may not have happened when the process died):
/// B only -> rename back; A only -> nothing to do; both or neither -> refuse, touching nothing.
public struct RenameCompensator: Compensating {
    public static let kind: StepKind = "file.rename"
    public init() {}

    public static func spec(from: String, to: String) throws -> CompensationSpec {
        try CompensationSpec(kind: kind, description: "rename \(to) back to \(from)", typedPayload: RenamePayload(from: from, to: to))
    }

    public func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        let payload = try spec.payload.decode(RenamePayload.self)
        let original = DurableFile.exists(payload.from)
        let moved = DurableFile.exists(payload.to)
        switch (original, moved) {
        case (true, false):
            return
        case (false, true):
            guard rename(payload.to, payload.from) == 0 else {
                throw UpshiftError("cannot rename \(payload.to) back to \(payload.from): \(String(cString: strerror(errno)))", exitCode: .failedRollbackIncomplete)
            }
            DurableFile.syncDirectory((payload.from as NSString).deletingLastPathComponent)
        case (true, true):
            throw UpshiftError(
                "both \(payload.from) and \(payload.to) exist; not renaming over either",
                hint: "compare them and move \(payload.to) back to \(payload.from) by hand", exitCode: .failedRollbackIncomplete)
        case (false, false):
            throw UpshiftError("neither \(payload.from) nor \(payload.to) exists", exitCode: .failedRollbackIncomplete)
        }
    }
}

/// A step that renames a path on the local file system (same directory tree, O(1)), with its undo.
/// Host-side only: data directories move through helper containers in the Data layer.
public struct RenameAction: StepAction {
    public var from: String
    public var to: String
    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard !DurableFile.exists(to) else { throw UpshiftError("\(to) already exists") }
        guard rename(from, to) == 0 else {
            throw UpshiftError("cannot rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
        DurableFile.syncDirectory((to as NSString).deletingLastPathComponent)
        return StepOutcome(summary: "moved \(from) to \(to)")
    }
}

/// Payload of a snapshot restore: which snapshotted files to put back (all when empty).
public struct RestoreSnapshotPayload: Sendable, Hashable, Codable {
    public var files: [String]
    public init(files: [String] = []) { self.files = files }
}

/// Undoes edits of compose files and `.env` by restoring the run folder's byte-exact copies.
/// Idempotent: files already equal to the copy are not rewritten.
public struct RestoreSnapshotCompensator: Compensating {
    public static let kind: StepKind = "compose.restore-files"
    public init() {}

    public static func spec(files: [String]) throws -> CompensationSpec {
        let names = files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        return try CompensationSpec(kind: kind, description: "restore \(names) from the run snapshot", typedPayload: RestoreSnapshotPayload(files: files))
    }

    public func compensate(_ spec: CompensationSpec, state: CompensationState, context: CompensationContext) async throws {
        guard let folder = context.runFolder else { throw UpshiftError("restoring files needs the run folder", exitCode: .failedRollbackIncomplete) }
        let payload = try spec.payload.decode(RestoreSnapshotPayload.self)
        let restored = try folder.restoreSnapshot(only: payload.files.isEmpty ? nil : payload.files)
        if !restored.isEmpty { context.progress("restored " + restored.joined(separator: ", ")) }
        // A kill -9 between the temporary file and its rename leaves the temporary beside the file.
        for file in payload.files {
            for removed in DurableFile.removeTemporaries(of: file) { context.progress("removed \(removed), left by an interrupted write") }
        }
    }
}
