import Testing
@testable import UpshiftCore

/// Pure parts of `transfer`: symlink containment, hash lists, plugin requirements, model tables, count diffs.
struct TransferMediaTests {
    @Test func linksLeavingTheTreeAreFound() {
        let links: [(link: String, target: String)] = [
            ("part_images/a.png", "b.png"),                            // sibling
            ("part_images/thumbs/a.png", "../b.png"),                  // up one, still inside
            ("part_images/x", "../../secret_key.txt"),                 // climbs out
            ("y", "/etc/passwd"),                                      // absolute, outside
            ("z", "/home/inventree/data/media/part_images/b.png"),     // absolute, inside
            ("w", "/home/inventree/data/media/../config.yaml"),        // absolute, normalises outside
            ("v", "./../media2/x"),                                    // relative, outside
        ]
        let escaping = MediaTree.escapingLinks(links).map(\.link)
        #expect(escaping == ["part_images/x", "y", "w", "v"])
    }

    @Test func hashListsParseAndCompare() {
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        let source = MediaTree.parseHashes("\(a)  ./part_images/one.png\n\(b)  ./with space.png\n")
        #expect(source == ["part_images/one.png": a, "with space.png": b])
        let copy = ["part_images/one.png": b, "extra.png": a]
        let diff = MediaTree.compare(source, copy)
        #expect(diff.missing == ["with space.png"] && diff.different == ["part_images/one.png"] && diff.extra == ["extra.png"])
        #expect(MediaTree.compare(source, source).missing.isEmpty && MediaTree.compare(source, source).different.isEmpty)
    }

    @Test func pluginRequirementsIgnoreCommentsBlanksAndOrder() {
        let a = "# InvenTree Plugins\ninventree-barcodeplus\n\n  other-plugin==1.2 # pinned\n"
        let b = "other-plugin==1.2\ninventree-barcodeplus\n"
        #expect(InvenTreeEndpoint.pluginRequirements(a) == InvenTreeEndpoint.pluginRequirements(b))
        #expect(InvenTreeEndpoint.pluginRequirements(nil).isEmpty)
        #expect(InvenTreeEndpoint.pluginRequirements("other-plugin==1.3") != InvenTreeEndpoint.pluginRequirements(b))
    }

    @Test func modelTables() {
        #expect(InvenTreeEndpoint.table(for: "part.part") == "part_part")
        #expect(InvenTreeEndpoint.table(for: "barcodeplus.scanlog") == "barcodeplus_scanlog")
        #expect(InvenTreeEndpoint.table(for: "sessions.session") == "django_session")
        #expect(InvenTreeEndpoint.table(for: "contenttypes.contenttype") == "django_content_type")
    }

    @Test func countMismatchesNameModelAndBothCounts() {
        let problems = VerifyRecordCountsStep.mismatches(
            expected: ["part.part": 3, "barcodeplus.scanlog": 2, "auth.user": 1],
            actual: ["part.part": 3, "auth.user": 0])
        #expect(problems == ["auth.user: file 1, target 0", "barcodeplus.scanlog: file 2, target no table barcodeplus_scanlog"])
        #expect(VerifyRecordCountsStep.mismatches(expected: ["a.b": 1], actual: ["a.b": 1]).isEmpty)
    }
}
