import ArgumentParser
import UpshiftCore

/// The root command. Subcommands live one per file in this folder.
public struct Upshift: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "upshift",
        abstract: "Safe, audited Postgres upgrades, app updates and migrations for docker compose deployments.",
        subcommands: []
    )
    public init() {}
}
