import Foundation
import UpshiftSupport

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

    /// Refuses plans an executor could not journal unambiguously: on every path the run can take, step ids
    /// are unique and not empty, and every decision has branches with distinct names.
    public func validate() throws {
        for path in Self.paths(steps) {
            var seen = Set<String>()
            for step in path {
                guard !step.id.isEmpty, seen.insert(step.id).inserted else {
                    throw UpshiftError.usage("plan has a duplicate or empty step id \"\(step.id)\"")
                }
                if let branches = step.branches {
                    guard !branches.isEmpty, Set(branches.map(\.name)).count == branches.count else {
                        throw UpshiftError.usage("decision \"\(step.id)\" has no branches or two with one name")
                    }
                }
            }
        }
    }

    /// Every sequence of steps a run of `steps` can execute, one per combination of branches.
    static func paths(_ steps: [PlannedStep]) -> [[PlannedStep]] {
        guard let index = steps.firstIndex(where: { $0.branches != nil }) else { return [steps] }
        let head = Array(steps[...index])
        let tail = Array(steps[(index + 1)...])
        return (steps[index].branches ?? []).flatMap { branch in paths(branch.steps + tail).map { head + $0 } }
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
        Self.render(steps, numbering: "", margin: "", into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Numbers steps `1.`, `2.`; a decision's branches follow it, indented, their steps numbered under the
    /// decision's (`5a.1`), and the plan goes on after the last branch.
    private static func render(_ steps: [PlannedStep], numbering prefix: String, margin: String, into lines: inout [String]) {
        let width = String(steps.count).count
        for (index, step) in steps.enumerated() {
            let number = prefix + String(index + 1)
            let label = margin + String(repeating: " ", count: prefix.isEmpty ? width - String(index + 1).count : 0) + number
            let tag = step.branches != nil ? "decision" : step.mutates ? "changes" : "read-only"
            lines.append("\(label). \(step.title)  [\(step.kind), \(tag)]")
            let indent = String(repeating: " ", count: label.count + 2)
            for command in step.commands { lines.append("\(indent)$ \(command)") }
            // A note may span lines (a diff): its continuation lines keep the note's indentation.
            for note in step.notes {
                let trimmed = note.hasSuffix("\n") ? String(note.dropLast()) : note
                lines.append("\(indent)- " + trimmed.replacingOccurrences(of: "\n", with: "\n\(indent)  "))
            }
            if let compensation = step.compensation { lines.append("\(indent)undo: \(compensation.description)") }
            else if step.mutates && step.pointOfNoReturn { lines.append("\(indent)undo: none possible (cannot be undone)") }
            else if step.mutates { lines.append("\(indent)undo: none needed (left in place)") }
            if step.pointOfNoReturn { lines.append("\(indent)point of no return: later failures do not undo this step") }
            for (offset, branch) in (step.branches ?? []).enumerated() {
                let letter = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(offset % 26)))
                lines.append("\(indent)\(number)\(letter). if \(branch.when): \(branch.name)" + (branch.steps.isEmpty ? " (no steps)" : ""))
                render(branch.steps, numbering: "\(number)\(letter).", margin: indent + "  ", into: &lines)
            }
            if step.branches != nil, index + 1 < steps.count { lines.append("\(indent)then, whichever branch ran:") }
        }
    }
}
