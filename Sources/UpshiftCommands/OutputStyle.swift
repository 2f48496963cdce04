import Foundation

/// Decides whether human output may use ANSI escapes. Colour and redrawn progress lines are for a person
/// looking at a terminal; in a pipe, a log file, CI or under `NO_COLOR` (https://no-color.org) they are
/// noise that breaks `grep` and diffs, so every renderer asks here instead of testing `isatty` itself.
enum OutputStyle {
    /// True when `NO_COLOR` is set to anything non-empty or `TERM` is `dumb`.
    static func colorSuppressed(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment["NO_COLOR"] ?? "").isEmpty || environment["TERM"] == "dumb"
    }

    /// Colour on stdout: only on a terminal, and only when not suppressed.
    static func colorOnStandardOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isatty(STDOUT_FILENO) == 1 && !colorSuppressed(environment: environment)
    }

    /// Progress that redraws one line (`ESC[2K` + `\r`) on stderr: only when stderr is a terminal and escapes
    /// are not suppressed. Otherwise progress is simply not drawn; the final report says everything.
    static func redrawOnStandardError(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isatty(STDERR_FILENO) == 1 && !colorSuppressed(environment: environment)
    }
}
