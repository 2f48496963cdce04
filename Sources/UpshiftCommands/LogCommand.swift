import ArgumentParser
import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

extension Upshift {
    /// `upshift log`: the audit trail of the project (`.upshift/audit.jsonl`), per run or in full.
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the audit trail: every run, or every event of one run, and whether the hash chain is intact.",
            discussion: """
                Reads .upshift/audit.jsonl in the project folder; needs no docker.

                Examples:
                  upshift log
                  upshift -C /srv/inventree log --run 20261128-134501
                  upshift log --json | jq '.runs[-1]'
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("run"), help: "Show every event of this run (a unique prefix of its id is enough).")
        var run: String?

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            // Only the project directory is needed: the log works without docker.
            let location = try ComposeDiscovery().locate(global.composeOptions)
            let path = AuditLog.path(projectDirectory: location.directory)
            let trail = try AuditTrail.read(path: path)
            if let run {
                let ids = trail.runs.map(\.run).filter { $0 == run || $0.hasPrefix(run) }
                guard let id = ids.count == 1 ? ids[0] : ids.first(where: { $0 == run }) else {
                    throw UpshiftError.usage(
                        ids.isEmpty ? "no run \"\(run)\" in \(path)" : "run prefix \"\(run)\" is ambiguous: \(ids.joined(separator: ", "))",
                        hint: "`upshift log` lists the runs")
                }
                print(json ? try LogRenderer.json(run: id, trail: trail) : LogRenderer.text(run: id, trail: trail))
            } else {
                print(json ? try LogRenderer.json(trail: trail, path: path) : LogRenderer.text(trail: trail, path: path))
            }
            if !trail.chain.isIntact {
                FileHandle.standardError.write(Data("warning: \(path): \(trail.chain) (the log was edited, truncated or damaged)\n".utf8))
            }
        }
    }
}

/// Text and JSON renderings of the audit trail.
enum LogRenderer {
    struct RunsDocument: Encodable {
        var path: String
        var chainIntact: Bool
        var chain: String
        var runs: [AuditTrail.RunSummary]
    }

    struct RunDocument: Encodable {
        var run: String
        var chainIntact: Bool
        var chain: String
        var records: [AuditRecord]
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(trail: AuditTrail, path: String) throws -> String {
        let doc = RunsDocument(path: path, chainIntact: trail.chain.isIntact, chain: "\(trail.chain)", runs: trail.runs)
        return String(decoding: try encoder().encode(doc), as: UTF8.self)
    }

    static func json(run: String, trail: AuditTrail) throws -> String {
        let doc = RunDocument(run: run, chainIntact: trail.chain.isIntact, chain: "\(trail.chain)", records: trail.records(run: run))
        return String(decoding: try encoder().encode(doc), as: UTF8.self)
    }

    static func text(trail: AuditTrail, path: String) -> String {
        var out = ["audit log  \(path)", "chain      \(trail.chain)", ""]
        if trail.runs.isEmpty {
            out.append("no runs recorded yet")
            return out.joined(separator: "\n")
        }
        let idWidth = (trail.runs.map(\.run.count).max() ?? 0) + 2
        out.append(StatusRenderer.pad("started", 26) + StatusRenderer.pad("run", idWidth) + StatusRenderer.pad("outcome", 28) + "command")
        for run in trail.runs {
            out.append(StatusRenderer.pad(run.start, 26) + StatusRenderer.pad(run.run, idWidth) + StatusRenderer.pad(run.outcome, 28) + (run.command ?? "?"))
        }
        return out.joined(separator: "\n")
    }

    static func text(run: String, trail: AuditTrail) -> String {
        var out = ["run  \(run)", ""]
        for record in trail.records(run: run) {
            let details = record.details.keys.sorted().compactMap { key -> String? in
                guard let value = record.details[key], value != .null else { return nil }
                return "\(key)=\(render(value))"
            }
            out.append("\(record.ts)  #\(record.seq)  \(record.event)" + (details.isEmpty ? "" : "  " + details.joined(separator: " ")))
        }
        out.append("")
        out.append("chain  \(trail.chain)")
        return out.joined(separator: "\n")
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): return s.contains(" ") ? "\"\(s)\"" : s
        case .array(let items): return "[" + items.map(render).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.keys.sorted().map { "\($0):\(render(fields[$0]!))" }.joined(separator: ",") + "}"
        }
    }
}
