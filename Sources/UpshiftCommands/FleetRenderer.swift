import Foundation
import UpshiftCore
import UpshiftSupport

/// Text and JSON renderings of the fleet view (`[FleetRow]`): one line per deployment, one per context
/// that did not answer.
enum FleetRenderer {
    static let header = ["CONTEXT", "PROJECT", "DATABASE", "IMAGE", "DISK", "KEPT", "LAST RUN"]

    /// A JSON array of rows, keys sorted, for scripts (`jq '.[] | select(.error)'`).
    static func json(_ rows: [FleetRow]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    /// The table, then a line for each mismatch and each problem, so a wide reason does not stretch it.
    static func text(_ rows: [FleetRow], contexts: [String]) -> String {
        guard !rows.isEmpty else {
            return "no compose deployments on \(contexts.count == 1 ? "context" : "contexts") \(contexts.joined(separator: ", "))"
        }
        let cells = rows.map(Self.cells)
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        func line(_ fields: [String]) -> String {
            fields.enumerated().map { $0.offset == fields.count - 1 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var lines = [line(header)] + cells.map(line)
        var notes: [String] = []
        for row in rows {
            let name = row.project.map { "\(row.context)/\($0)" } ?? row.context
            if let error = row.error {
                notes.append("\(name): \(row.project == nil ? "context not reached" : "not read"): \(error)")
            } else if row.isMismatch, let image = row.imageMajor, let disk = row.diskMajor {
                notes.append("\(name): MISMATCH: the image is PostgreSQL \(image) but the data on disk is \(disk); see upshift --context \(row.context) -C \(ShellQuote.quote(row.workingDirectory ?? ".")) status")
            } else if let note = row.diskNote {
                notes.append("\(name): data on disk: \(note)")
            }
        }
        if !notes.isEmpty { lines += [""] + notes }
        return lines.joined(separator: "\n")
    }

    /// One row's columns, in `header`'s order; `-` for what does not apply, `?` for what is unknown.
    static func cells(_ row: FleetRow) -> [String] {
        guard row.error == nil else {
            return [row.context, row.project ?? "-", "-", "-", "-", "-", row.project == nil ? "(context not reached)" : "(not read)"]
        }
        let image = row.imageMajor.map(String.init) ?? "?"
        var disk = row.diskMajor.map(String.init) ?? "?"
        if row.isMismatch { disk += " MISMATCH" }
        let kept: String
        switch (row.keptItems, row.keptBytes) {
        case (nil, _): kept = "?"
        case (0?, _): kept = "none"
        case (let count?, let bytes): kept = "\(count) (\(ByteFormat.string(bytes ?? 0)))"
        }
        let last = row.lastRun.map { "\($0.kind) \($0.outcome) \($0.startedAt) \($0.id)" } ?? "none"
        return [row.context, row.project ?? "-", row.databaseService ?? "-", image, disk, kept, last]
    }
}
