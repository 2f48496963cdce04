/// Renders argv words the way a person would type them into a POSIX shell.
///
/// Rendering only: upshift never hands these strings to a shell. They exist so that error messages,
/// `--dry-run` plans and audit records show a command that can be copied and re-run by hand.
public enum ShellQuote {
    /// Characters that never need quoting in a POSIX shell word.
    private static let safe: Set<Character> = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_-+=:,./"
    )

    /// Quotes one word: unchanged when it is made of safe characters only, else wrapped in single
    /// quotes with embedded single quotes written as `'\''`.
    public static func quote(_ word: String) -> String {
        if word.isEmpty { return "''" }
        if word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Renders a whole argv as one line, with every secret known to `redactor` masked.
    public static func render(_ argv: [String], redactor: Redactor = Redactor()) -> String {
        argv.map { quote(redactor.redact($0)) }.joined(separator: " ")
    }
}

extension Command {
    /// Environment variable names whose values are always masked when a command is rendered, even when
    /// the redactor does not know the value (a password read from a `_FILE` secret, for example).
    static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["PASSWORD", "SECRET", "TOKEN", "PASSWD", "PRIVATE_KEY", "API_KEY"].contains { upper.contains($0) }
    }

    /// The command as one shell-like line: `cd DIR &&` when a working directory is set, the environment
    /// overrides as `NAME=value` (secret-looking names and known secrets masked), then the quoted argv.
    public func rendered(redactor: Redactor = Redactor(), includeEnvironment: Bool = true) -> String {
        var parts: [String] = []
        if let workingDirectory {
            parts.append("cd " + ShellQuote.quote(redactor.redact(workingDirectory)) + " &&")
        }
        if includeEnvironment {
            for name in unsetEnvironment.sorted() {
                parts.append("-u " + ShellQuote.quote(name))
            }
            for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
                let shown = Command.isSecretName(name) ? Redactor.mask : redactor.redact(value)
                parts.append(ShellQuote.quote(name + "=" + shown))
            }
            if !unsetEnvironment.isEmpty || !environment.isEmpty { parts.insert("env", at: workingDirectory == nil ? 0 : 1) }
        }
        parts.append(ShellQuote.render(argv, redactor: redactor))
        return parts.joined(separator: " ")
    }
}
