import ArgumentParser
import Foundation
import UpshiftCore
import UpshiftSupport

/// How an error reaches the user: one `error:` line, an optional `hint:` line, and an exit code.
enum ErrorReport {
    static func render(_ error: any Error) -> (text: String, code: Int32) {
        switch error {
        case let error as UpshiftError:
            var text = "error: \(error.message)"
            if let hint = error.hint { text += "\nhint: \(hint)" }
            return (text, error.exitCode.rawValue)
        case let error as CommandLaunchFailure:
            return ("error: \(error.description)\nhint: is docker installed and on PATH?", UpshiftSupport.ExitCode.unavailable.rawValue)
        case let error as CommandInterrupted:
            return ("error: interrupted: \(error.description)", UpshiftSupport.ExitCode.interrupted.rawValue)
        case let error as CommandFailure:
            return ("error: \(error.description)", UpshiftSupport.ExitCode.failedRolledBack.rawValue)
        case is CancellationError:
            return ("error: interrupted", UpshiftSupport.ExitCode.interrupted.rawValue)
        default:
            // ArgumentParser errors thrown from run() (ValidationError, ExitCode, CleanExit) keep their meaning.
            let message = Upshift.fullMessage(for: error)
            let code = Upshift.exitCode(for: error).rawValue
            return (message.isEmpty ? "" : (message.hasPrefix("Error:") ? message : "error: \(message)"), code)
        }
    }
}

/// A failure before anything changed is a refusal: exit 64 (the README's "refused, nothing changed"), not
/// 1, which says a run failed and was rolled back. An unreachable engine (69) and an interruption (130) keep
/// their codes.
enum Refusal {
    static func wrap(_ error: any Error) -> any Error {
        switch error {
        case let error as UpshiftError where error.exitCode == .failedRolledBack:
            return UpshiftError(error.message, hint: error.hint ?? "nothing was changed", exitCode: .usage)
        case let error as CommandFailure:
            return UpshiftError(error.description, hint: "nothing was changed", exitCode: .usage)
        default:
            return error
        }
    }
}
