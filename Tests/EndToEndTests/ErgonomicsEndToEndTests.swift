import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport

/// The newcomer's surface of the built binary (issue 8): every command's `--help` shows an example, shell
/// completion scripts name every subcommand, `--version` answers, and no ANSI escape reaches a pipe, a log file
/// or a terminal whose user set `NO_COLOR`.
@Suite(.serialized)
struct ErgonomicsEndToEndTests {
    static let hasBinary = E2EEnvironment.upshiftBinary != nil
    static let noBinary = "the upshift binary was not found: build it (swift build) or set UPSHIFT_BIN"
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    /// The subcommands every user-facing list must cover; new ones are picked up from `--help` as well.
    static let knownSubcommands = ["status", "doctor", "pg-upgrade", "rollback", "log", "update", "backup", "restore", "export", "import", "transfer"]

    // MARK: - Help

    @Test(.enabled(if: hasBinary, "\(noBinary)"))
    func rootHelpListsEverySubcommandAndAnExample() async throws {
        let help = try await E2EUpshift.run(["--help"], environment: ["NO_COLOR": ""])
        #expect(help.exitCode == 0, "\(help)")
        let listed = Self.subcommands(inHelp: help.stdout)
        for name in Self.knownSubcommands { #expect(listed.contains(name), "root --help does not list \(name):\n\(help.stdout)") }
        #expect(help.stdout.contains("Example"), "root --help has no example")
        for code in ["0 ok", "1 failed", "2 failed", "64 usage", "69 docker", "130 interrupted"] {
            #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").contains(code), "root --help does not document exit code \(code)")
        }
    }

    @Test(.enabled(if: hasBinary, "\(noBinary)"))
    func everySubcommandHelpShowsAnExampleInvocation() async throws {
        let root = try await E2EUpshift.run(["--help"])
        let names = Set(Self.subcommands(inHelp: root.stdout)).union(Self.knownSubcommands).sorted()
        for name in names {
            let help = try await E2EUpshift.run([name, "--help"])
            #expect(help.exitCode == 0, "\(name) --help: \(help)")
            #expect(help.stdout.contains("USAGE: upshift \(name)"), "\(name) --help has no usage line:\n\(help.stdout)")
            #expect(help.stdout.contains("Example"), "\(name) --help has no example section:\n\(help.stdout)")
            // An example is a runnable line, not just the word: an indented `upshift … <name>` invocation.
            let exampleLines = help.stdout.split(separator: "\n").filter {
                $0.hasPrefix("  upshift ") && $0.contains(" \(name)")
            }
            #expect(!exampleLines.isEmpty, "\(name) --help shows no `upshift … \(name)` example line:\n\(help.stdout)")
        }
    }

    /// The help, README and examples write `upshift -C DIR <command>` like docker compose does; the project
    /// options must work before the subcommand as well as after it, with the same result.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func projectOptionsWorkBeforeTheSubcommand() async throws {
        try await E2EDeployment.with(sample: "generic", namePrefix: "ergo-order") { d in
            let before = try await E2EUpshift.run(["-C", d.path, "-p", d.projectName, "status", "--json"], workingDirectory: "/")
            let after = try await E2EUpshift.run(["status", "--json", "-C", d.path, "-p", d.projectName], workingDirectory: "/")
            let joined = try await E2EUpshift.run(["--project-directory=\(d.path)", "status", "--json"], workingDirectory: "/")
            #expect(before.exitCode == 0 && after.exitCode == 0 && joined.exitCode == 0, "\(before)\n\(after)\n\(joined)")
            for output in [before, after] {
                #expect(output.stdout.contains(d.projectName), "\(output.stdout.prefix(400))")
            }
            for output in [before, after, joined] {
                #expect(output.stdout.contains(d.path), "\(output.stdout.prefix(400))")
            }
            let missing = try await E2EUpshift.run(["-C"])
            #expect(missing.exitCode == 64, "\(missing)")
        }
    }

    @Test(.enabled(if: hasBinary, "\(noBinary)"))
    func versionAnswersOnStdoutWithExitZero() async throws {
        let version = try await E2EUpshift.run(["--version"])
        #expect(version.exitCode == 0, "\(version)")
        let text = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text == UpshiftTestVersion.expectedShape(text), "--version printed \(text)")
    }

    // MARK: - Completions

    @Test(.enabled(if: hasBinary, "\(noBinary)"), arguments: ["bash", "zsh", "fish"])
    func completionScriptNamesEverySubcommand(shell: String) async throws {
        let script = try await E2EUpshift.run(["--generate-completion-script", shell])
        #expect(script.exitCode == 0, "\(shell): \(script)")
        #expect(script.stderr.isEmpty, "\(shell) completion wrote to stderr: \(script.stderr)")
        #expect(script.stdout.count > 500, "\(shell) completion script is suspiciously short")
        for name in Self.knownSubcommands {
            #expect(script.stdout.contains(name), "\(shell) completion does not mention \(name)")
        }
        // Options of a subcommand are completed too, not only the command names.
        #expect(script.stdout.contains("dry-run"), "\(shell) completion does not know pg-upgrade --dry-run")
        if shell == "bash" {
            // bash is always on the test machine: the script must at least parse.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(E2EEnvironment.uniqueName("nc-completion") + ".bash")
            defer { try? FileManager.default.removeItem(at: file) }
            try script.stdout.write(to: file, atomically: true, encoding: .utf8)
            let check = E2EOutput(try await E2EEnvironment.runner.run(Command("bash", ["-n", file.path])))
            #expect(check.exitCode == 0, "bash -n rejects the completion script: \(check)")
        }
    }

    @Test(.enabled(if: hasBinary, "\(noBinary)"))
    func unknownCompletionShellIsAUsageError() async throws {
        let script = try await E2EUpshift.run(["--generate-completion-script", "tcsh"])
        #expect(script.exitCode == 64, "\(script)")
    }

    // MARK: - Colour and terminal

    /// `doctor` is the one command that paints (PASS/WARN/FAIL) and redraws a progress line. In a pipe it must
    /// print no escape at all, whatever `NO_COLOR` says.
    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"))
    func pipedOutputHasNoEscapes() async throws {
        try await E2EDeployment.with(sample: "generic", namePrefix: "ergo-pipe") { deployment in
            for environment in [["NO_COLOR": "", "TERM": "xterm-256color"], ["NO_COLOR": "1", "TERM": "xterm-256color"]] {
                let doctor = try await deployment.upshift(["doctor", "-p", deployment.projectName], environment: environment)
                #expect(doctor.exitCode == 0, "\(doctor)")
                #expect(doctor.stdout.contains("PASS  compose"), "\(doctor)")
                #expect(!doctor.stdout.contains("\u{1B}") && !doctor.stderr.contains("\u{1B}"), "escape in piped output (\(environment)):\n\(doctor)")
            }
            for arguments in [["status"], ["doctor", "--json"], ["pg-upgrade", "--to", "18", "--dry-run"]] {
                let output = try await deployment.upshift(arguments + ["-p", deployment.projectName], environment: ["NO_COLOR": "", "TERM": "xterm-256color"])
                #expect(!output.stdout.contains("\u{1B}") && !output.stderr.contains("\u{1B}"), "escape in piped \(arguments):\n\(output)")
            }
        }
    }

    /// On a terminal doctor paints its labels (so this test can tell colour from none), and `NO_COLOR=1` or
    /// `TERM=dumb` turns every escape off, the progress redraw on stderr included.
    @Test(.enabled(if: enabled && Self.hasPython, "\(E2EEnvironment.skipReason) (or python3 missing for the pty)"))
    func terminalOutputIsColouredUnlessNoColorOrDumbTerminal() async throws {
        try await E2EDeployment.with(sample: "generic", namePrefix: "ergo-tty") { deployment in
            let coloured = try await Self.onTerminal(["doctor", "-p", deployment.projectName], in: deployment.path, environment: ["NO_COLOR": "", "TERM": "xterm-256color"])
            #expect(coloured.exitCode == 0, "\(coloured)")
            #expect(coloured.stdout.contains("\u{1B}[32mPASS"), "no green PASS on a terminal:\n\(coloured.stdout.debugDescription.prefix(2000))")

            for environment in [["NO_COLOR": "1", "TERM": "xterm-256color"], ["NO_COLOR": "", "TERM": "dumb"]] {
                let plain = try await Self.onTerminal(["doctor", "-p", deployment.projectName], in: deployment.path, environment: environment)
                #expect(plain.exitCode == 0, "\(plain)")
                #expect(plain.stdout.contains("PASS  compose"), "\(plain)")
                #expect(!plain.stdout.contains("\u{1B}"), "escape on a terminal with \(environment):\n\(plain.stdout.debugDescription.prefix(2000))")
            }
        }
    }

    // MARK: - Helpers

    static let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    /// Subcommand names from the SUBCOMMANDS block of a help text (`  name   abstract…`).
    static func subcommands(inHelp text: String) -> [String] {
        var inBlock = false
        var names: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") { inBlock = true; continue }
            guard inBlock else { continue }
            if !line.isEmpty, !line.hasPrefix(" ") { break }
            // Entries are indented by two spaces; wrapped abstracts by many more.
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            if let name = line.split(separator: " ").first { names.append(String(name)) }
        }
        return names.filter { $0 != "help" && $0 != "See" }
    }

    /// Runs upshift with stdout and stderr on a pseudo-terminal (python3's pty module, argv only) and returns
    /// what the terminal received (both streams, in order) as `stdout`.
    static func onTerminal(_ arguments: [String], in directory: String, environment: [String: String]) async throws -> E2EOutput {
        guard let binary = E2EEnvironment.upshiftBinary else { throw E2EFailure(noBinary) }
        let spawn = "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"
        let command = Command(
            "/usr/bin/python3", ["-c", spawn, binary] + arguments,
            environment: E2EEnvironment.childEnvironment.merging(environment) { $1 },
            workingDirectory: directory, timeout: .seconds(120))
        return E2EOutput(try await E2EEnvironment.runner.run(command))
    }
}

/// `--version` prints a bare semantic version (what scripts/release names the tarball after).
enum UpshiftTestVersion {
    static func expectedShape(_ text: String) -> String? {
        let parts = text.split(separator: ".")
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return text
    }
}
