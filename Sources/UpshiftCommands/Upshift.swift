import ArgumentParser
import Foundation
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// The root command. Subcommands live one per file in this folder.
public struct Upshift: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "upshift",
        abstract: "Safe, audited Postgres upgrades, app updates and migrations for docker compose deployments.",
        discussion: """
            Examples:
              upshift doctor                      # is this deployment ready? (read-only)
              upshift pg-upgrade --to 18 --dry-run
              upshift pg-upgrade --to 18
              upshift rollback

            Exit codes:
              0 ok, 1 failed and put back, 2 failed with the rollback incomplete,
              64 usage, 69 docker, compose v2 or libpq unavailable,
              130 interrupted (Ctrl-C) and put back.

            Output: no colour and no progress redraws when NO_COLOR is set or
            the output is not a terminal.
            """,
        version: UpshiftVersion.current,
        subcommands: [Status.self, Doctor.self, PgUpgrade.self, Rollback.self, Prune.self, Log.self, Update.self, Backup.self, Restore.self, Export.self, Import.self, Transfer.self]
    )
    public init() {}

    /// Runs the command line and turns every failure into one clear line and the documented exit code:
    /// `UpshiftError` -> `error: …` (+ `hint: …`) and its code; a tool that cannot start -> 69; argument
    /// errors -> ArgumentParser's usage text and 64.
    ///
    /// The same binary is the Docker CLI plugin `docker-upshift` (`DockerPlugin`): the metadata request is
    /// answered before anything is parsed, and `docker [OPTIONS] upshift ARGS` runs as `upshift ARGS` with
    /// docker's options turned into the environment docker's children would get.
    public static func main() async {
        let invocation: DockerPlugin.Invocation
        do {
            invocation = try DockerPlugin.invocation(CommandLine.arguments)
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\nhint: nothing was changed\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        let arguments: [String]
        switch invocation {
        case .metadata:
            print(DockerPlugin.metadataJSON())
            Foundation.exit(0)
        case .run(let plain, let environment):
            for (name, value) in environment {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
            arguments = plain
        }
        await runCommandLine(globalOptionsAfterSubcommand(arguments))
    }

    /// Options every subcommand takes (`GlobalOptions`), with whether they take a value.
    static let globalOptionNames: [String: Bool] = [
        "-C": true, "--project-directory": true, "-f": true, "--file": true, "-p": true, "--project-name": true,
        "--env-file": true, "--db-service": true, "--context": true, "--all-contexts": false,
    ]

    /// `upshift -C DIR pg-upgrade …` as well as `upshift pg-upgrade -C DIR …`: docker compose's users put
    /// the project options first, and the help, README and examples do too. ArgumentParser only knows them
    /// after the subcommand, so leading global options are moved behind the subcommand's name. Anything
    /// else before the subcommand (`--help`, `--version`, typos) is left alone for the parser to answer.
    public static func globalOptionsAfterSubcommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard let takesValue = globalOptionNames[name] else { break }
            leading.append(argument)
            if takesValue && !argument.contains("=") {
                guard index + 1 < arguments.count else { return arguments }
                leading.append(arguments[index + 1])
                index += 2
            } else {
                index += 1
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        // Subcommands have no subcommands of their own, so the options go right behind the first word.
        return [arguments[index]] + leading + Array(arguments[(index + 1)...])
    }

    public static func runCommandLine(_ arguments: [String]) async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            // --help, --version and completion scripts are answers, not errors: stdout and exit 0.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            exit(withError: error)
        }
        if let refusal = engineRefusal(command) {
            // Before run(): a single-engine command given several engines changes nothing.
            let (text, code) = ErrorReport.render(refusal)
            FileHandle.standardError.write(Data((text + "\n").utf8))
            Foundation.exit(code)
        }
        do {
            var command = command
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if Upshift.exitCode(for: error) == .success, !(error is UpshiftError) {
                // `upshift` alone or a help request surfaced from run(): help text on stdout, exit 0.
                print(Upshift.fullMessage(for: error))
                Foundation.exit(0)
            }
            let (text, code) = ErrorReport.render(error)
            FileHandle.standardError.write(Data((text + "\n").utf8))
            Foundation.exit(code)
        }
    }
}
