import Foundation

/// One subprocess invocation, always as an argv array: upshift never builds a shell string from data.
public struct Command: Sendable, Hashable, Codable {
    /// Program name (resolved on `PATH`) or absolute path.
    public var executable: String
    public var arguments: [String]
    /// Variables added to (or replacing in) the inherited environment. Secrets travel here, never in argv.
    public var environment: [String: String]
    /// Variables removed from the inherited environment.
    public var unsetEnvironment: [String]
    public var workingDirectory: String?
    /// Bytes written to the child's stdin, then closed. `nil` means stdin is `/dev/null`.
    public var standardInput: Data?
    /// Kill the child (SIGTERM, then SIGKILL after a grace period) when it runs longer than this.
    public var timeout: Duration?
    /// A file whose bytes become the child's stdin, read by the child itself (a multi-GB dump never passes
    /// through upshift's memory). Takes precedence over `standardInput`.
    public var standardInputFile: String?

    public init(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        unsetEnvironment: [String] = [],
        workingDirectory: String? = nil,
        standardInput: Data? = nil,
        timeout: Duration? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.unsetEnvironment = unsetEnvironment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.timeout = timeout
    }

    /// The argv as one line a person could paste into a shell, each word quoted where needed.
    public var argv: [String] { [executable] + arguments }
}

/// How a child process ended.
public enum Termination: Sendable, Hashable, Codable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited(\(code))"
        case .signaled(let signal): return "signaled(\(signal))"
        }
    }
}

/// The outcome of a finished command. A non-zero exit is a result, not an error: callers decide.
public struct CommandResult: Sendable {
    public var command: Command
    public var termination: Termination
    /// Captured stdout; empty when stdout was streamed to a file.
    public var standardOutput: Data
    public var standardError: Data
    public var duration: Duration
    /// True when the runner killed the child because `Command.timeout` elapsed.
    public var timedOut: Bool = false

    public init(command: Command, termination: Termination, standardOutput: Data = Data(), standardError: Data = Data(), duration: Duration = .zero) {
        self.command = command
        self.termination = termination
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.duration = duration
    }

    public init(command: Command, termination: Termination, standardOutput: Data = Data(), standardError: Data = Data(), duration: Duration = .zero, timedOut: Bool) {
        self.init(command: command, termination: termination, standardOutput: standardOutput, standardError: standardError, duration: duration)
        self.timedOut = timedOut
    }

    public var stdoutText: String { String(decoding: standardOutput, as: UTF8.self) }
    public var stderrText: String { String(decoding: standardError, as: UTF8.self) }
}

/// Where a child's stdout goes.
public enum OutputDestination: Sendable {
    /// Collected in memory into `CommandResult.standardOutput`.
    case capture
    /// Streamed to an open file handle (dumps of many GB must not pass through memory).
    case file(FileHandle)
    /// Discarded.
    case discard
}

/// Runs subprocesses. The live implementation uses Foundation.Process; tests use a recording fake.
public protocol CommandRunning: Sendable {
    /// Runs `command` to completion. `onLine` receives each stdout/stderr line as it arrives (for progress);
    /// it is called from a background context.
    func run(
        _ command: Command,
        stdout: OutputDestination,
        onLine: (@Sendable (OutputLine) -> Void)?
    ) async throws -> CommandResult
}

/// One line of child output, tagged with its stream.
public struct OutputLine: Sendable, Hashable {
    public enum Stream: Sendable, Hashable { case stdout, stderr }
    public var stream: Stream
    public var text: String
    public init(stream: Stream, text: String) {
        self.stream = stream
        self.text = text
    }
}

extension CommandRunning {
    /// Runs with stdout captured and no line callback.
    public func run(_ command: Command) async throws -> CommandResult {
        try await run(command, stdout: .capture, onLine: nil)
    }
}
