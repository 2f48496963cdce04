import ArgumentParser
import UpshiftSupport

/// Which docker engines a command line names: `--context` (repeatable) and `--all-contexts`.
///
/// Only `status` looks at several engines (the fleet view). Every other command works on one deployment on
/// one engine; were a second `--context` silently dropped, a run could change the wrong deployment, so it
/// is refused (exit 64) before anything runs.
struct EngineChoice: Sendable, Hashable {
    var contexts: [String]
    var allContexts: Bool

    /// More than one engine was asked for.
    var isFleet: Bool { allContexts || Set(contexts).count > 1 }

    /// The refusal for a single-engine command, `nil` when one engine (or docker's choice) was named.
    /// - Parameter command: the subcommand's name, for the message.
    func refusal(command: String?) -> UpshiftError? {
        guard isFleet else { return nil }
        let what = allContexts ? "--all-contexts" : "--context given \(contexts.count) times (\(contexts.joined(separator: ", ")))"
        let who = command.map { "upshift \($0)" } ?? "this command"
        return UpshiftError.usage(
            "\(who) works on one docker engine, but \(what); nothing was changed",
            hint: "give --context once; only `upshift status` shows several contexts (the fleet view)")
    }
}

/// A command whose options name docker engines; `Upshift.runCommandLine` checks it before `run()`.
protocol EngineChoosing {
    var engineChoice: EngineChoice { get }
    /// True only for `status`, whose fleet view looks at several engines.
    static var acceptsSeveralEngines: Bool { get }
}

extension EngineChoosing {
    static var acceptsSeveralEngines: Bool { false }
}

extension Upshift.Status: EngineChoosing {
    var engineChoice: EngineChoice { global.engineChoice }
    static var acceptsSeveralEngines: Bool { true }
}
extension Upshift.Doctor: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.PgUpgrade: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Rollback: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Prune: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Log: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Update: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Backup: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Restore: EngineChoosing { var engineChoice: EngineChoice { global.engineChoice } }
extension Upshift.Export: EngineChoosing { var engineChoice: EngineChoice { project.engineChoice } }
extension Upshift.Import: EngineChoosing { var engineChoice: EngineChoice { project.engineChoice } }
extension Upshift.Transfer: EngineChoosing { var engineChoice: EngineChoice { project.engineChoice } }

extension Upshift {
    /// The refusal for a parsed command that names several engines but works on one (exit 64).
    static func engineRefusal(_ command: any ParsableCommand) -> UpshiftError? {
        guard let choosing = command as? any EngineChoosing, !type(of: choosing).acceptsSeveralEngines else { return nil }
        return choosing.engineChoice.refusal(command: type(of: command)._commandName)
    }
}
