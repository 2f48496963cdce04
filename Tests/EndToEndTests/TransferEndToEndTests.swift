import Foundation
import Testing
import UpshiftSupport
import UpshiftTestSupport

/// `upshift transfer`, `export` and `import` on the real test engine with the stand-in InvenTree 1.0.0 image,
/// between two copies of `compose/inventree` (one pair of deployments for everything, to keep CI lean):
/// - transfer --include-media is refused while the source's media hold a link leaving the tree (nothing changes);
/// - transfer --include-media: per-model counts (the test's own count of the export file vs `count(*)`), part
///   contents, plugin rows and every media file (SHA-256, mode, owner, measured on the host) equal; the source
///   is untouched (table digests and every data file outside pgdb hashed before and after);
/// - export -f writes valid JSON on the host with its counts printed;
/// - import refusals, each leaving the target identical: non-UTF-8 file (byte offset named), a file from
///   another InvenTree version (both versions named), a non-empty target without --clear;
/// - import --convert-from latin1 --clear of a file that fails half-way in InvenTree: rolled back to the
///   identical database, services running.
@Suite(.serialized, .enabled(if: E2EEnvironment.canRunUpshiftEndToEnd))
struct TransferEndToEndTests {
    @Test func transferExportAndImportRefusals() async throws {
        try await E2EDeployment.with(sample: "inventree", namePrefix: "xfer-src") { source in
            try await E2EDeployment.with(sample: "inventree", namePrefix: "xfer-dst") { target in
                try await run(source: source, target: target)
            }
        }
    }

    func run(source: E2EDeployment, target: E2EDeployment) async throws {
        let clock = ContinuousClock()
        var times: [String] = []
        func timed<T>(_ label: String, _ body: () async throws -> T) async rethrows -> T {
            let start = clock.now
            let value = try await body()
            times.append("\(label) \(clock.now - start)")
            return value
        }
        // The target has the same plugin installed (plugins.txt) before its server first starts.
        try FileManager.default.createDirectory(at: target.url("inventree-data"), withIntermediateDirectories: true)
        try "# InvenTree Plugins (uses PIP framework to install)\ninventree-barcodeplus\n".write(to: target.url("inventree-data/plugins.txt"), atomically: true, encoding: .utf8)
        try await timed("up both") {
            async let a: Void = source.up()
            async let b: Void = target.up()
            _ = try await (a, b)
        }
        try await timed("seed 1 MB") { try await InvenTreeE2E.seed(source, ["--megabytes", "1"]) }

        // 1. A link leaving the media tree: refused before anything changes.
        try await source.exec("inventree-server", ["ln", "-s", "../../secret_key.txt", "/home/inventree/data/media/escape"]).checked("ln -s")
        let targetBefore = try await fingerprint(target)
        let linked = try await timed("transfer refused (link)") { try await source.upshift(["transfer", "--to", target.path, "--include-media", "--yes"]) }
        #expect(linked.exitCode == 64, "\(linked)")
        #expect(linked.stderr.contains("escape -> ../../secret_key.txt"), "\(linked.stderr)")
        #expect(try await fingerprint(target) == targetBefore)
        try await source.exec("inventree-server", ["rm", "/home/inventree/data/media/escape"]).checked("rm link")

        // 2. The transfer.
        let sourceBefore = try await fingerprint(source)
        let transfer = try await timed("transfer --include-media") { try await source.upshift(["transfer", "--to", target.path, "--include-media", "--yes"]) }
        #expect(transfer.exitCode == 0, "\(transfer)")
        #expect(transfer.stderr.contains("records: equal") && transfer.stderr.contains("files identical"), "\(transfer.stderr.suffix(3000))")

        // Per-model counts, measured by the test: the export file (parsed here) vs count(*) in the target.
        let runs = try FileManager.default.contentsOfDirectory(atPath: target.url(".upshift/runs").path).sorted()
        let exportFile = target.url(".upshift/runs/\(runs.last!)/export.json")
        let fileCounts = try Self.modelCounts(Data(contentsOf: exportFile))
        #expect(fileCounts["barcodeplus.scanlog"] ?? 0 > 0 && fileCounts["part.part"] ?? 0 > 600, "\(fileCounts)")
        let targetCounts = try await Self.tableCounts(target, fileCounts.keys.map { $0.replacingOccurrences(of: ".", with: "_") })
        for (model, count) in fileCounts {
            #expect(targetCounts[model.replacingOccurrences(of: ".", with: "_")] == count, "\(model): file \(count), target \(targetCounts[model.replacingOccurrences(of: ".", with: "_")] ?? -1)")
        }
        // Content, not only counts: parts, stock and plugin rows equal on both sides.
        for sql in ["SELECT md5(string_agg(id || ':' || name || ':' || coalesce(\"IPN\", ''), '|' ORDER BY id)) FROM part_part",
                    "SELECT md5(string_agg(id || ':' || quantity::text || ':' || coalesce(part_id, 0), '|' ORDER BY id)) FROM stock_stockitem",
                    // `scanned` only to the millisecond: the export format truncates datetimes (documented trap).
                    "SELECT md5(string_agg(id || ':' || coalesce(part_id, 0) || ':' || md5(data) || ':' || payload::text || ':' || date_trunc('milliseconds', scanned)::text, '|' ORDER BY id)) FROM barcodeplus_scanlog",
                    "SELECT string_agg(key || '=' || active, ',' ORDER BY key) FROM plugin_pluginconfig"] {
            let a = try await InvenTreeE2E.psql(source, sql), b = try await InvenTreeE2E.psql(target, sql)
            #expect(!a.isEmpty && a == b, "\(sql): \(a) vs \(b)")
        }
        // Media: every file's SHA-256, mode and owner, measured on the host side of both bind mounts.
        let sourceMedia = Self.tree(source.url("inventree-data/media").path), targetMedia = Self.tree(target.url("inventree-data/media").path)
        #expect(sourceMedia.count > 50 && sourceMedia == targetMedia, "\(sourceMedia.count) vs \(targetMedia.count) entries")
        try await InvenTreeE2E.expectRunning(target, ["inventree-db", "inventree-server", "inventree-worker"])

        // 3. export -f on the source: valid JSON on the host, counts printed.
        let exported = source.url("records.json").path
        let export = try await timed("export") { try await source.upshift(["export", "-f", exported]) }
        #expect(export.exitCode == 0, "\(export)")
        let exportedCounts = try Self.modelCounts(Data(contentsOf: URL(fileURLWithPath: exported)))
        #expect(exportedCounts == fileCounts)
        #expect(export.stdout.contains("part.part") && export.stdout.contains(String(fileCounts["part.part"]!)), "\(export.stdout)")
        let again = try await source.upshift(["export", "-f", exported])
        #expect(again.exitCode == 64 && again.stderr.contains("--overwrite"), "\(again)")

        // 4. Import refusals: the target (now holding data) stays identical each time.
        let targetAfterTransfer = try await fingerprint(target)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: exported))
        let marker = Data("\"name\": \"".utf8)
        let insertAt = bytes.range(of: marker)!.upperBound
        bytes.insert(0xE9, at: insertAt)                                  // latin1 'é'
        let latin1 = target.url("latin1.json").path
        try bytes.write(to: URL(fileURLWithPath: latin1))
        let notUTF8 = try await timed("import refused (latin1)") { try await target.upshift(["import", "-f", latin1, "--clear", "--yes"]) }
        #expect(notUTF8.exitCode == 64, "\(notUTF8)")
        #expect(notUTF8.stderr.contains("not UTF-8") && notUTF8.stderr.contains("byte offset \(insertAt)"), "\(notUTF8.stderr)")
        #expect(notUTF8.stderr.contains("--convert-from"))

        var records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: exported))) as! [Any]
        records.insert(["metadata": true, "source_version": "1.3.0", "api_version": 400, "installed_apps": ["part", "stock"]], at: 0)
        let other = target.url("from-1.3.0.json").path
        try JSONSerialization.data(withJSONObject: records).write(to: URL(fileURLWithPath: other))
        let otherVersion = try await timed("import refused (version)") { try await target.upshift(["import", "-f", other, "--clear", "--yes"]) }
        #expect(otherVersion.exitCode == 64, "\(otherVersion)")
        #expect(otherVersion.stderr.contains("InvenTree 1.3.0") && otherVersion.stderr.contains("InvenTree 1.0.0"), "\(otherVersion.stderr)")

        let notEmpty = try await timed("import refused (not empty)") { try await target.upshift(["import", "-f", exported, "--yes"]) }
        #expect(notEmpty.exitCode == 64, "\(notEmpty)")
        #expect(notEmpty.stderr.contains("is not empty") && notEmpty.stderr.contains("part_part=") && notEmpty.stderr.contains("--clear"), "\(notEmpty.stderr)")
        #expect(try await fingerprint(target) == targetAfterTransfer, "a refused import changed the target")

        // 5. --convert-from makes the latin1 file importable; its renamed group ("é" + name) breaks the users'
        //    natural keys, so InvenTree's import fails half-way: the target is restored from upshift's dump.
        let failed = try await timed("import failed + rolled back") { try await target.upshift(["import", "-f", latin1, "--convert-from", "latin1", "--clear", "--yes"]) }
        #expect(failed.exitCode == 1, "\(failed)")
        #expect(failed.stderr.contains("re-encoded") && failed.stderr.contains("rollback complete"), "\(failed.stderr.suffix(3000))")
        #expect(try await fingerprint(target) == targetAfterTransfer, "a failed import was not rolled back to the identical database")
        try await InvenTreeE2E.expectRunning(target, ["inventree-db", "inventree-server", "inventree-worker"])

        // 6. The source was only read.
        #expect(try await fingerprint(source) == sourceBefore, "the transfer or export changed the source")
        print("TransferEndToEndTests wall times: " + times.joined(separator: ", "))
    }

    // MARK: - Helpers

    /// Table digests of the database plus SHA-256/mode/owner of every file of the data dir except pgdb (the
    /// server's own files change on any read: hint bits, stats) and the test's own files.
    func fingerprint(_ d: E2EDeployment) async throws -> [String] {
        let digests = try await InvenTreeE2E.tableDigests(d)
        let files = Self.tree(d.url("inventree-data").path, excluding: ["pgdb"]).map { "\($0.key) \($0.value)" }.sorted()
        return digests + files
    }

    /// Relative path -> "sha256 mode uid:gid" (links: "-> target") for every entry under `root`.
    static func tree(_ root: String, excluding: [String] = []) -> [String: String] {
        var result: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [:] }
        while let relative = enumerator.nextObject() as? String {
            if excluding.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) { continue }
            let path = root + "/" + relative
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { result[relative] = "unreadable"; continue }
            let mode = String((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1, radix: 8)
            let owner = "\(attributes[.ownerAccountID] ?? "?"):\(attributes[.groupOwnerAccountID] ?? "?")"
            switch attributes[.type] as? FileAttributeType {
            case .typeRegular?:
                result[relative] = "\((try? SHA256.hexOfFile(atPath: path)) ?? "unreadable") \(mode) \(owner)"
            case .typeSymbolicLink?:
                result[relative] = "-> \((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")"
            default:
                result[relative] = "dir \(mode) \(owner)"
            }
        }
        return result
    }

    /// The test's own count of an export file: records per `model`, metadata header skipped.
    static func modelCounts(_ data: Data) throws -> [String: Int] {
        guard let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { throw E2EFailure("export is not an array of objects") }
        var counts: [String: Int] = [:]
        for entry in array { if let model = entry["model"] as? String { counts[model, default: 0] += 1 } }
        return counts
    }

    /// Rows per table as export-records defines them: settings whose key starts with `_` are never exported
    /// (the stand-in's server writes `_PLUGIN_REGISTRY_HASH` on every start, as InvenTree's registry does).
    static func tableCounts(_ d: E2EDeployment, _ tables: [String]) async throws -> [String: Int] {
        let sql = tables.map { table in
            let exported = table.hasPrefix("common_inventree") && table.hasSuffix("setting") ? " WHERE left(key, 1) <> '_'" : ""
            return "SELECT '\(table)|' || count(*) FROM \"\(table)\"\(exported)"
        }.joined(separator: " UNION ALL ")
        var counts: [String: Int] = [:]
        for line in try await InvenTreeE2E.psql(d, sql).split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "|")
            if parts.count == 2 { counts[String(parts[0])] = Int(parts[1]) }
        }
        return counts
    }
}
