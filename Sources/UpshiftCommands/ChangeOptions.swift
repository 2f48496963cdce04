import ArgumentParser

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
}
