import Foundation

/// upshift as a Docker CLI plugin: the same binary installed as `~/.docker/cli-plugins/docker-upshift` (or in
/// `/usr/local/lib/docker/cli-plugins/`) makes `docker upshift …` work. The protocol, as docker/cli implements it
/// (`cli-plugins/manager`, `cli-plugins/metadata`, `cmd/docker/docker.go`):
///
/// - To list and validate the plugin, docker runs `docker-upshift docker-cli-plugin-metadata` and reads JSON
///   with `SchemaVersion` (must be `0.1.0`…`<2.0.0`) and a non-empty `Vendor`; `Version`, `ShortDescription`
///   (the line in `docker --help`) and `URL` are optional.
/// - `docker [GLOBAL OPTIONS] upshift ARGS` runs `docker-upshift [GLOBAL OPTIONS] upshift ARGS`: the full
///   original argv, so docker's own options (`--context`, `-H`, `--config`, …) arrive *before* the plugin's
///   name, not in the environment. `docker help upshift` runs `docker-upshift help upshift`.
/// - The environment gains `DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND` (docker's argv[0]) and
///   `DOCKER_CLI_PLUGIN_SOCKET` (closed by docker when it is told to stop; upshift gets the terminal's SIGINT
///   itself, and a run killed by docker's third signal leaves its journal for `upshift rollback`).
///
/// Docker's options become the environment docker's own children would see: `--context` → `DOCKER_CONTEXT`
/// (and no `DOCKER_HOST`, which the flag overrides), `-H` → `DOCKER_HOST` (and no `DOCKER_CONTEXT`),
/// `--config` → `DOCKER_CONFIG`; `--debug` and `--log-level` only concern docker's own output. TLS options
/// are refused: they have no complete environment equivalent, and a docker context carries them instead.
enum DockerPlugin {
    /// The plugin's name: `docker upshift`, file `docker-upshift`.
    static let name = "upshift"
    static let metadataCommand = "docker-cli-plugin-metadata"

    /// What `docker-cli-plugin-metadata` prints. No `URL`: upshift has no public home page to name yet (docker
    /// treats it as optional).
    static func metadataJSON() -> String {
        let metadata: [String: String] = [
            "SchemaVersion": "0.1.0",
            "Vendor": "upshift",
            "Version": UpshiftVersion.current,
            "ShortDescription": "Safe, audited Postgres upgrades and app updates for docker compose deployments",
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A [String: String] always encodes.
        return String(decoding: (try? encoder.encode(metadata)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// What one start of the binary is asked to do.
    enum Invocation: Equatable {
        /// Print `metadataJSON()` and exit 0, parsing nothing else.
        case metadata
        /// Run upshift with `arguments` (argv without argv[0]), after setting `environment` (a `nil` value
        /// removes the variable) in upshift's own process, so every docker child and every check sees it.
        case run(arguments: [String], environment: [String: String?])
    }

    /// A usage error in docker's options (exit 64).
    struct OptionError: Error, Equatable {
        var message: String
    }

    /// Whether argv[0] names the plugin file (`…/docker-upshift`): then docker started it.
    static func isPlugin(executable: String) -> Bool {
        let base = executable.split(separator: "/").last.map(String.init) ?? executable
        return base.hasPrefix("docker-")
    }

    /// - Parameter argv: the whole command line, argv[0] first.
    static func invocation(_ argv: [String]) throws(OptionError) -> Invocation {
        let arguments = Array(argv.dropFirst())
        if arguments.first == metadataCommand { return .metadata }
        guard let executable = argv.first, isPlugin(executable: executable) else { return .run(arguments: arguments, environment: [:]) }

        var environment: [String: String?] = [:]
        var context: String?
        var host: String?
        var index = 0
        /// The value of an option spelled `--name value`, `--name=value` or `-xvalue`.
        func value(_ argument: String, _ spelled: String) throws(OptionError) -> String {
            if argument.count > spelled.count {
                let rest = argument.dropFirst(spelled.count)
                return String(rest.hasPrefix("=") ? rest.dropFirst() : rest)
            }
            guard index + 1 < arguments.count else { throw OptionError(message: "docker option \(spelled) needs a value") }
            index += 1
            return arguments[index]
        }
        func matches(_ argument: String, _ spellings: [String]) -> String? {
            spellings.first { argument == $0 || argument.hasPrefix($0 + "=") || ($0.count == 2 && argument.hasPrefix($0)) }
        }
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let argument = arguments[index]
            if argument == "--" {
                index += 1
                break
            } else if let spelled = matches(argument, ["--context", "-c"]) {
                context = try value(argument, spelled)
            } else if let spelled = matches(argument, ["--host", "-H"]) {
                host = try value(argument, spelled)
            } else if let spelled = matches(argument, ["--config"]) {
                environment["DOCKER_CONFIG"] = try value(argument, spelled)
            } else if let spelled = matches(argument, ["--log-level", "-l"]) {
                _ = try value(argument, spelled)
            } else if argument == "--debug" || argument == "-D" || argument.hasPrefix("--debug=") {
                // docker's own debug output; upshift has none to switch on.
            } else if argument.hasPrefix("--tls") {
                throw OptionError(message: "docker's \(argument) does not reach the docker and compose calls upshift makes; put the TLS settings in a docker context (docker context create NAME --docker host=…,ca=…,cert=…,key=…) and pass --context NAME")
            } else {
                throw OptionError(message: "docker option \(argument) is not understood by upshift")
            }
            index += 1
        }
        if context != nil, host != nil {
            throw OptionError(message: "conflicting options: cannot specify both --host and --context")
        }
        if let context {
            environment["DOCKER_CONTEXT"] = context
            environment["DOCKER_HOST"] = .some(nil)
        }
        if let host {
            environment["DOCKER_HOST"] = host
            environment["DOCKER_CONTEXT"] = .some(nil)
        }

        var rest = Array(arguments[index...])
        if rest.first == name {
            rest.removeFirst()
        } else if rest.count >= 2, rest[0] == "help", rest[1] == name {
            // `docker help upshift [COMMAND]`.
            rest = Array(rest.dropFirst(2)) + ["--help"]
        }
        // Anything else is someone running docker-upshift by hand (`docker-upshift status`): upshift's arguments.
        return .run(arguments: rest, environment: environment)
    }
}
