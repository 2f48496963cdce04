import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// Per-model record counts: the export file's against `count(*)` of each model's table in the target.
struct VerifyRecordCountsStep: PlanStep {
    var world: RecordsImportWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "verify-records", title: "Verify per-model record counts (file vs target database)", kind: "records.verify", mutates: false,
                    notes: ["\(world.context.expectedCounts.count) models, \(world.context.expectedCounts.values.reduce(0, +)) records expected"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let expected = world.context.expectedCounts
        let actual = try await world.target.modelCounts(Array(expected.keys))
        let problems = Self.mismatches(expected: expected, actual: actual)
        guard problems.isEmpty else {
            throw UpshiftError("after the import the target's record counts differ from the file: \(problems.joined(separator: "; "))")
        }
        try? Data(world.context.file.countLines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: world.runFolder.path + "/record-counts.txt"))
        return StepOutcome(summary: "\(expected.count) models, \(expected.values.reduce(0, +)) records: equal", data: try JSONValue(encoding: actual))
    }

    /// `model: file N, target M` for every model that differs (a missing table counts as no rows).
    static func mismatches(expected: [String: Int], actual: [String: Int]) -> [String] {
        expected.keys.sorted().compactMap { label in
            let found = actual[label]
            guard found != expected[label] else { return nil }
            return "\(label): file \(expected[label]!), target \(found.map(String.init) ?? "no table \(InvenTreeEndpoint.table(for: label))")"
        }
    }
}
