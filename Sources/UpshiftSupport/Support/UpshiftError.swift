/// Process exit codes, documented in the README.
public enum ExitCode: Int32, Sendable, Codable {
    case ok = 0
    /// The run failed and everything it changed was put back (verified).
    case failedRolledBack = 1
    /// The run failed and the rollback could not finish: the message says what state things are in.
    case failedRollbackIncomplete = 2
    /// The upgrade finished and the application runs, but the full recheck after the window found the new
    /// cluster different from the old one: the report says what, and how to go back.
    case recheckDiffers = 3
    case usage = 64
    /// docker, compose or libpq is missing or does not answer.
    case unavailable = 69
    case interrupted = 130
}

/// An error a user reads: what went wrong, where, and what to do next.
public struct UpshiftError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public var exitCode: ExitCode

    public init(_ message: String, hint: String? = nil, exitCode: ExitCode = .failedRolledBack) {
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
    }

    public static func usage(_ message: String, hint: String? = nil) -> UpshiftError {
        UpshiftError(message, hint: hint, exitCode: .usage)
    }

    public static func unavailable(_ message: String, hint: String? = nil) -> UpshiftError {
        UpshiftError(message, hint: hint, exitCode: .unavailable)
    }

    public var description: String {
        guard let hint else { return message }
        return "\(message)\n  hint: \(hint)"
    }
}
