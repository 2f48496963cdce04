import ArgumentParser
import Foundation
import Testing
import UpshiftCore
@testable import UpshiftCommands

/// The fleet view's command line (who may name several engines) and its renderings.
struct FleetViewTests {
    func parse(_ arguments: [String]) throws -> any ParsableCommand {
        try Upshift.parseAsRoot(Upshift.globalOptionsAfterSubcommand(arguments))
    }

    var live: FleetRow {
        var row = FleetRow(context: "prod", project: "inventree", workingDirectory: "/srv/inventree")
        row.databaseService = "inventree-db"
        row.image = "postgres:16"
        row.imageMajor = 16
        row.diskMajor = 16
        row.keptItems = 2
        row.keptBytes = 3 * 1024 * 1024
        row.lastRun = FleetRow.LastRun(id: "20261206-101500-ab12", kind: "pg-upgrade", outcome: "succeeded", startedAt: "2026-12-06T10:15:00Z")
        return row
    }

    @Test func statusTakesSeveralContexts() throws {
        let status = try #require(try parse(["--context", "a", "status", "--context", "b", "--json"]) as? Upshift.Status)
        #expect(status.global.contexts == ["a", "b"] && status.global.engineChoice.isFleet && status.json)
        #expect(Upshift.engineRefusal(status) == nil)
        let all = try #require(try parse(["--all-contexts", "status"]) as? Upshift.Status)
        #expect(all.global.allContexts && all.global.engineChoice.isFleet)
        let one = try #require(try parse(["status", "--context", "a", "--fleet"]) as? Upshift.Status)
        #expect(one.fleet && !one.global.engineChoice.isFleet && one.global.context == "a")
        #expect(throws: (any Error).self) { try parse(["status", "--all-contexts", "--context", "a"]) }
        // The same context twice is one engine.
        #expect(!EngineChoice(contexts: ["a", "a"], allContexts: false).isFleet)
    }

    @Test func everyOtherCommandRefusesSeveralEngines() throws {
        for command in ["doctor", "rollback", "prune", "log", "backup", "restore --db-file x", "update --to 1.0.0", "pg-upgrade --to 18", "import -f x.json", "export -f x.json", "transfer --to /x"] {
            let words = command.split(separator: " ").map(String.init)
            let twice = try parse(["--context", "a", "--context", "b"] + words)
            let refusal = try #require(Upshift.engineRefusal(twice), "\(command) accepted two contexts")
            #expect(refusal.exitCode == .usage)
            #expect(refusal.message.contains("upshift \(words[0])") && refusal.message.contains("nothing was changed"))
            #expect(Upshift.engineRefusal(try parse(["--context", "a"] + words)) == nil, "\(command) refused one context")
            if !["import", "export", "transfer"].contains(words[0]) {
                #expect(Upshift.engineRefusal(try parse(["--all-contexts"] + words)) != nil, "\(command) accepted --all-contexts")
            }
        }
    }

    @Test func tableHasOneLinePerDeploymentAndSaysWhyAContextIsMissing() {
        var bumped = live
        bumped.project = "paperless"
        bumped.workingDirectory = "/srv/paper less"
        bumped.diskMajor = 15
        bumped.keptItems = 0
        bumped.lastRun = nil
        let dead = FleetRow.unreachable("nas", because: "Cannot connect to the Docker daemon at ssh://nas")
        let text = FleetRenderer.text([live, bumped, dead], contexts: ["prod", "nas"])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("CONTEXT  PROJECT    DATABASE      IMAGE  DISK"))
        #expect(lines[1].contains("inventree") && lines[1].contains("16     16") && lines[1].contains("2 (3.0 MiB)")
            && lines[1].hasSuffix("pg-upgrade succeeded 2026-12-06T10:15:00Z 20261206-101500-ab12"))
        #expect(lines[2].contains("15 MISMATCH") && lines[2].contains("none") && lines[2].hasSuffix("none"))
        #expect(lines[3].hasPrefix("nas") && lines[3].hasSuffix("(context not reached)"))
        #expect(text.contains("prod/paperless: MISMATCH: the image is PostgreSQL 16 but the data on disk is 15; see upshift --context prod -C '/srv/paper less' status"))
        #expect(text.contains("nas: context not reached: Cannot connect to the Docker daemon at ssh://nas"))
        #expect(FleetRenderer.text([], contexts: ["prod"]) == "no compose deployments on context prod")
    }

    @Test func jsonIsAnArrayOfRows() throws {
        let dead = FleetRow.unreachable("nas", because: "Cannot connect")
        let json = try FleetRenderer.json([live, dead])
        let decoded = try JSONDecoder().decode([FleetRow].self, from: Data(json.utf8))
        #expect(decoded == [live, dead])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(objects[0]["imageMajor"] as? Int == 16 && objects[0]["diskMajor"] as? Int == 16)
        #expect(objects[1]["error"] as? String == "Cannot connect" && objects[1]["project"] == nil)
    }
}
