import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// Per-file SHA-256 lists (and mode/owner per entry) of both media trees must agree for every source file.
struct VerifyMediaStep: PlanStep {
    var world: TransferWorld

    func planned() -> PlannedStep {
        PlannedStep(id: "verify-media", title: "Verify media: per-file SHA-256, mode and owner on both sides", kind: "records.verify-media",
                    commands: ["find . -type f -exec sha256sum {} +  (in both media trees)", "find . -mindepth 1 -exec stat -c '%a %u:%g %n' {} +"], mutates: false)
    }

    func run(_ context: StepContext) async throws -> StepOutcome {
        let source = MediaTree(endpoint: world.context.source), target = MediaTree(endpoint: world.context.target)
        async let sh = source.hashes()
        async let th = target.hashes()
        async let sa = source.attributes()
        async let ta = target.attributes()
        let (sourceHashes, targetHashes, sourceAttributes, targetAttributes) = try await (sh, th, sa, ta)
        let (missing, different, extra) = MediaTree.compare(sourceHashes, targetHashes)
        let attributeDiffs = sourceAttributes.keys.sorted().filter { targetAttributes[$0] != sourceAttributes[$0] }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("\(missing.count) files missing on the target (\(missing.prefix(3).joined(separator: ", ")))") }
        if !different.isEmpty { problems.append("\(different.count) files differ (\(different.prefix(3).joined(separator: ", ")))") }
        if !attributeDiffs.isEmpty {
            problems.append("\(attributeDiffs.count) entries differ in mode/owner (" + attributeDiffs.prefix(3).map { "\($0): \(sourceAttributes[$0]!) vs \(targetAttributes[$0] ?? "absent")" }.joined(separator: ", ") + ")")
        }
        guard problems.isEmpty else { throw UpshiftError("media copy is not identical: " + problems.joined(separator: "; ")) }
        let list = sourceHashes.keys.sorted().map { "\(sourceHashes[$0]!)  \($0)" }.joined(separator: "\n") + "\n"
        try? Data(list.utf8).write(to: URL(fileURLWithPath: world.mediaHashesPath))
        return StepOutcome(summary: "\(sourceHashes.count) files identical (SHA-256, mode, owner)" + (extra.isEmpty ? "" : "; \(extra.count) files only on the target kept"))
    }
}
