import Foundation
import UpshiftPlans
import UpshiftSupport

/// While a dump tool runs, reports every few seconds how many bytes the dump directory holds, against the
/// preflight's estimate (`pg_database_size` summed over the cluster): the renderers turn that into
/// "1.2 GiB of ~4.0 GiB, ETA 3m". The estimate is only that — a plain dump can be smaller or larger than
/// the database — so a count beyond it is still shown, without a total.
struct DumpProgress: Sendable {
    var directory: String
    var estimate: Int64
    var interval: Duration = .seconds(5)

    /// Runs `body`, reporting `label` with the directory's size meanwhile.
    func watching<T>(_ label: String, context: StepContext, _ body: () async throws -> T) async throws -> T {
        let directory = directory, estimate = estimate, interval = interval
        let watcher = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                let bytes = Self.size(of: directory)
                context.report(label, ProgressMeasure(done: bytes, total: estimate > bytes ? estimate : nil, unit: .bytes))
            }
        }
        defer { watcher.cancel() }
        return try await body()
    }

    /// The bytes of the regular files under `path` (recursively); 0 when it cannot be read.
    static func size(of path: String) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let name = enumerator.nextObject() as? String {
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name),
               attributes[.type] as? FileAttributeType == .typeRegular {
                total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }
}
