import Foundation
import Synchronization
import UpshiftSupport

/// A `CommandRunning` fake for unit tests: records every command and answers from a script.
///
/// A stub matches when its argv prefix is a prefix of the command's argv (`["docker", "compose"]` matches
/// every compose call); the most recently added matching stub wins, so a test can override a general
/// stub with a specific one. Unmatched commands succeed with empty output, unless `strict` is set, in
/// which case they throw `RecordingRunner.Unstubbed`.
public final class RecordingRunner: CommandRunning, Sendable {
    public struct Stub: Sendable {
        public var argvPrefix: [String]
        public var termination: Termination
        public var stdout: Data
        public var stderr: Data
        /// Matches only this many times when set (then the next matching stub is used).
        public var remaining: Int?
    }

    public struct Unstubbed: Error, CustomStringConvertible {
        public var command: Command
        public var description: String { "unstubbed command: \(command.rendered())" }
    }

    private struct State {
        var stubs: [Stub] = []
        var commands: [Command] = []
    }

    private let state = Mutex(State())
    public let strict: Bool

    public init(strict: Bool = false) {
        self.strict = strict
    }

    /// Registers a canned result for commands whose argv starts with `argvPrefix`.
    public func stub(_ argvPrefix: [String], exit: Int32 = 0, stdout: String = "", stderr: String = "", times: Int? = nil) {
        stub(argvPrefix, termination: .exited(exit), stdout: Data(stdout.utf8), stderr: Data(stderr.utf8), times: times)
    }

    public func stub(_ argvPrefix: [String], termination: Termination, stdout: Data = Data(), stderr: Data = Data(), times: Int? = nil) {
        state.withLock { $0.stubs.append(Stub(argvPrefix: argvPrefix, termination: termination, stdout: stdout, stderr: stderr, remaining: times)) }
    }

    /// Every command run so far, in order.
    public var commands: [Command] { state.withLock { $0.commands } }

    /// The argv of every command run so far.
    public var argvs: [[String]] { commands.map(\.argv) }

    public func run(_ command: Command, stdout: OutputDestination, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        let stub = state.withLock { state -> Stub? in
            state.commands.append(command)
            let argv = command.argv
            guard let index = state.stubs.lastIndex(where: { stub in
                stub.remaining != 0 && argv.starts(with: stub.argvPrefix)
            }) else { return nil }
            if let remaining = state.stubs[index].remaining { state.stubs[index].remaining = remaining - 1 }
            return state.stubs[index]
        }
        guard let stub else {
            if strict { throw Unstubbed(command: command) }
            return CommandResult(command: command, termination: .exited(0))
        }
        if let onLine {
            for line in String(decoding: stub.stdout, as: UTF8.self).split(separator: "\n") { onLine(OutputLine(stream: .stdout, text: String(line))) }
            for line in String(decoding: stub.stderr, as: UTF8.self).split(separator: "\n") { onLine(OutputLine(stream: .stderr, text: String(line))) }
        }
        var captured = stub.stdout
        switch stdout {
        case .capture: break
        case .file(let handle):
            try handle.write(contentsOf: stub.stdout)
            captured = Data()
        case .discard: captured = Data()
        }
        return CommandResult(command: command, termination: stub.termination, standardOutput: captured, standardError: stub.stderr)
    }
}
