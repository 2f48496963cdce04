import Foundation

/// A command that ran but did not succeed, as the error `check` throws.
///
/// The description follows SwiftPM's failed-command text: termination, the shell-escaped argv with
/// secrets masked, then the last lines of stderr indented, so the user sees what ran and why it failed
/// without a password ever reaching the terminal.
public struct CommandFailure: Error, Sendable, CustomStringConvertible {
    public var command: Command
    public var termination: Termination
    public var timedOut: Bool
    /// The last lines of stderr, already redacted.
    public var stderrTail: [String]
    public var redactor: Redactor

    /// How many stderr lines the description keeps.
    public static let tailLineCount = 20

    public init(result: CommandResult, redactor: Redactor = Redactor()) {
        self.command = result.command
        self.termination = result.termination
        self.timedOut = result.timedOut
        self.redactor = redactor
        let lines = result.stderrText.split(whereSeparator: \.isNewline).map(String.init)
        self.stderrTail = lines.suffix(Self.tailLineCount).map { redactor.redact($0) }
    }

    public var description: String {
        var text = "\(termination)\(timedOut ? " (timed out)" : ""): \(command.rendered(redactor: redactor, includeEnvironment: false))"
        if !stderrTail.isEmpty {
            text += "\n    " + stderrTail.joined(separator: "\n    ")
        }
        return text
    }
}

/// A command that could not be started at all (missing executable, bad working directory).
public struct CommandLaunchFailure: Error, Sendable, CustomStringConvertible {
    public var executable: String
    public var reason: String

    public init(executable: String, reason: String) {
        self.executable = executable
        self.reason = reason
    }

    public var description: String { "cannot run \(ShellQuote.quote(executable)): \(reason)" }
}

/// A command whose child was sent a signal that upshift itself received (Ctrl-C, SIGTERM).
///
/// Thrown instead of returning a result so a run stops at the step that was interrupted instead of
/// carrying on with the next step as if the child had merely failed.
public struct CommandInterrupted: Error, Sendable, CustomStringConvertible {
    public var command: Command
    public var signal: Int32
    public var termination: Termination

    public init(command: Command, signal: Int32, termination: Termination) {
        self.command = command
        self.signal = signal
        self.termination = termination
    }

    public var description: String {
        "interrupted by signal \(signal) while running \(ShellQuote.quote(command.executable)) (child \(termination))"
    }
}

extension CommandResult {
    /// Returns `self` when the command exited 0, else throws a `CommandFailure` rendered with `redactor`.
    @discardableResult
    public func check(redactor: Redactor = Redactor()) throws(CommandFailure) -> CommandResult {
        guard termination.isSuccess, !timedOut else { throw CommandFailure(result: self, redactor: redactor) }
        return self
    }
}

extension CommandRunning {
    /// Runs `command` and throws `CommandFailure` unless it exited 0.
    @discardableResult
    public func check(
        _ command: Command,
        stdout: OutputDestination = .capture,
        redactor: Redactor = Redactor(),
        onLine: (@Sendable (OutputLine) -> Void)? = nil
    ) async throws -> CommandResult {
        try await run(command, stdout: stdout, onLine: onLine).check(redactor: redactor)
    }
}
