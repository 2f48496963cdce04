import Foundation

/// A run as plain data: an ordered list of typed steps. What `--dry-run` prints, what `plan.json` holds,
/// and what golden tests compare.
public struct Plan: Sendable, Hashable, Codable {
    /// Bumped when the shape of `plan.json` changes incompatibly.
    public var formatVersion: Int
    public var runID: RunID
    /// The command line that produced the plan, for people (`pg-upgrade --to 18`).
    public var command: String
    /// Absolute project directory.
    public var projectDirectory: String
    /// Short facts shown above the steps (`postgres 15 -> 18`, `data: /srv/app/data/pgdb`).
    public var summary: [String]
    public var steps: [PlannedStep]

    public init(runID: RunID, command: String, projectDirectory: String, summary: [String] = [], steps: [PlannedStep]) {
        self.formatVersion = 1
        self.runID = runID
        self.command = command
        self.projectDirectory = projectDirectory
        self.summary = summary
        self.steps = steps
    }

    /// Refuses plans an executor could not journal unambiguously.
    public func validate() throws {
        var seen = Set<String>()
        for step in steps {
            guard !step.id.isEmpty, seen.insert(step.id).inserted else {
                throw UpshiftError.usage("plan has a duplicate or empty step id \"\(step.id)\"")
            }
        }
    }

    public func step(id: String) -> PlannedStep? { steps.first { $0.id == id } }

    /// `plan.json` / `--dry-run --json`: sorted keys, pretty-printed, stable for golden files.
    public func jsonData() throws -> Data {
        var data = try PlanJSON.encoder(pretty: true).encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    public static func decode(_ data: Data) throws -> Plan {
        try PlanJSON.decoder().decode(Plan.self, from: data)
    }

    /// The human `--dry-run` text. Commands are already masked in the steps; nothing here adds data.
    public func renderText() -> String {
        var lines: [String] = []
        lines.append("Plan \(runID): \(command)")
        lines.append("Project: \(projectDirectory)")
        for fact in summary { lines.append("  \(fact)") }
        lines.append("")
        let width = String(steps.count).count
        for (index, step) in steps.enumerated() {
            let number = String(index + 1)
            let label = String(repeating: " ", count: width - number.count) + number
            let tag = step.mutates ? "changes" : "read-only"
            lines.append("\(label). \(step.title)  [\(step.kind), \(tag)]")
            let indent = String(repeating: " ", count: width + 2)
            for command in step.commands { lines.append("\(indent)$ \(command)") }
            for note in step.notes { lines.append("\(indent)- \(note)") }
            if let compensation = step.compensation { lines.append("\(indent)undo: \(compensation.description)") }
            else if step.mutates && step.pointOfNoReturn { lines.append("\(indent)undo: none possible (cannot be undone)") }
            else if step.mutates { lines.append("\(indent)undo: none needed (left in place)") }
            if step.pointOfNoReturn { lines.append("\(indent)point of no return: later failures do not undo this step") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
