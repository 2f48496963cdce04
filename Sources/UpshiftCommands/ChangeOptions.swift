import ArgumentParser
import Foundation

/// The flags of every command that changes something, spelled and meaning the same everywhere, so
/// `--yes`, `--dry-run`, `--json` and `--no-rollback` never behave differently from one command to the next.
struct ChangeOptions: ParsableArguments, Sendable {
    @Flag(help: "Skip the confirmation prompt (required when stdin is not a terminal).")
    var yes = false

    @Flag(name: .customLong("dry-run"), help: "Run the checks, print the plan (every command, secrets masked) and change nothing.")
    var dryRun = false

    @Flag(help: "With --dry-run: print the plan as JSON.")
    var json = false

    @Flag(name: .customLong("no-rollback"), help: "Leave a failed run as it is for inspection.")
    var noRollback = false

    @Option(help: "How progress is shown on stderr: auto (tty on a terminal, else plain), plain, tty or json (JSON Lines).")
    var progress: ProgressMode = .auto
}

/// `--progress`: what the user asked for; `style` decides `auto`.
enum ProgressMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    case auto, plain, tty, json

    /// `auto` is `tty` when stderr is a terminal and neither `NO_COLOR` nor `TERM=dumb` says otherwise
    /// (`OutputStyle`), else `plain`.
    func style(stderrIsTerminal: Bool = isatty(STDERR_FILENO) == 1, environment: [String: String] = ProcessInfo.processInfo.environment) -> ProgressStyle {
        switch self {
        case .auto: return stderrIsTerminal && !OutputStyle.colorSuppressed(environment: environment) ? .tty : .plain
        case .plain: return .plain
        case .tty: return .tty
        case .json: return .json
        }
    }
}
