import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// Export on the source into the target's run folder. Reads the source only.
struct TransferExportStep: PlanStep {
    var world: TransferWorld

    var export: RecordsExport {
        RecordsExport(endpoint: world.context.source, version: world.context.version, options: world.context.exportOptions, runID: world.context.runID)
    }

    func planned() throws -> PlannedStep {
        PlannedStep(id: "export", title: "Export records on the source \(world.context.source.project.name): invoke export-records", kind: "records.export",
                    commands: PlannedStep.render([try export.command()], redactor: world.context.source.redactor) + ["-> \(world.exportPath)"],
                    mutates: false, notes: ["the source's database is only read; the file passes through its backup dir and is removed there"])
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let result = try await export.run(to: world.exportPath, overwrite: false, progress: context.progress)
        for line in result.file.countLines { context.progress("  \(line)") }
        return StepOutcome(summary: "\(result.file.totalRecords) records of \(result.file.counts.count) models, \(ByteFormat.string(Int64(result.file.bytes))), sha256 \(result.sha256.prefix(16))…",
                           data: .object(["counts": try JSONValue(encoding: result.file.counts), "sha256": .string(result.sha256)]))
    }
}
