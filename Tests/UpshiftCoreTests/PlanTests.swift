import Foundation
import Testing
@testable import UpshiftPlans
@testable import UpshiftSupport

struct PlanTests {
    static let password = "s3cr3t-Pa55"

    static func samplePlan() throws -> Plan {
        let redactor = Redactor(secrets: [password])
        let dump = Command("docker", ["compose", "-p", "inv", "exec", "-T", "db", "pg_dumpall", "-U", "pguser"], environment: ["PGPASSWORD": password])
        let connect = Command("psql", ["postgresql://pguser:\(password)@127.0.0.1:5432/inventree", "-c", "select 1"])
        return Plan(
            runID: PlanFixtures.runID,
            command: "pg-upgrade --to 18",
            projectDirectory: "/srv/inventree",
            summary: ["postgres 15 -> 18 (service db)", "data: /srv/inventree/data/pgdb"],
            steps: [
                PlannedStep(id: "lock", title: "Lock the project", kind: "run.lock", mutates: false),
                PlannedStep(
                    id: "dump", title: "Dump all databases", kind: "pg.dump", commands: PlannedStep.render([dump], redactor: redactor), mutates: true,
                    notes: ["to /srv/backups/inv-20261128.sql (mode 0600)"]),
                PlannedStep(
                    id: "move-data", title: "Move the old data aside", kind: "data.move-aside", mutates: true,
                    compensation: try RenameCompensator.spec(from: "/srv/inventree/data/pgdb", to: "/srv/inventree/data/pgdb.pg15-20261128-134501-ab12")),
                PlannedStep(
                    id: "verify", title: "Verify as the application user", kind: "pg.verify", commands: PlannedStep.render([connect], redactor: redactor),
                    mutates: false, pointOfNoReturn: false),
            ])
    }

    @Test func rendersTheDryRunTextExactly() throws {
        let text = try Self.samplePlan().renderText()
        let expected = """
            Plan 20261128-134501-ab12: pg-upgrade --to 18
            Project: /srv/inventree
              postgres 15 -> 18 (service db)
              data: /srv/inventree/data/pgdb

            1. Lock the project  [run.lock, read-only]
            2. Dump all databases  [pg.dump, changes]
               $ env 'PGPASSWORD=******' docker compose -p inv exec -T db pg_dumpall -U pguser
               - to /srv/backups/inv-20261128.sql (mode 0600)
               undo: none needed (left in place)
            3. Move the old data aside  [data.move-aside, changes]
               undo: rename /srv/inventree/data/pgdb.pg15-20261128-134501-ab12 back to /srv/inventree/data/pgdb
            4. Verify as the application user  [pg.verify, read-only]
               $ psql 'postgresql://pguser:******@127.0.0.1:5432/inventree' -c 'select 1'

            """
        #expect(text == expected)
        #expect(!text.contains(Self.password))
    }

    @Test func jsonIsStableAndRoundTrips() throws {
        let plan = try Self.samplePlan()
        let data = try plan.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains(Self.password))
        #expect(try Plan.decode(data) == plan)
        #expect(try plan.jsonData() == data)
        // Golden excerpt: sorted keys, unescaped slashes, the compensation payload inline.
        let excerpt = """
                  "compensation" : {
                    "description" : "rename /srv/inventree/data/pgdb.pg15-20261128-134501-ab12 back to /srv/inventree/data/pgdb",
                    "kind" : "file.rename",
                    "payload" : {
                      "from" : "/srv/inventree/data/pgdb",
                      "to" : "/srv/inventree/data/pgdb.pg15-20261128-134501-ab12"
                    }
                  },
            """
        #expect(text.contains(excerpt))
        #expect(text.hasPrefix("{\n  \"command\" : \"pg-upgrade --to 18\",\n  \"formatVersion\" : 1,\n"))
    }

    @Test func duplicateStepIDsAreRefused() throws {
        var plan = try Self.samplePlan()
        try plan.validate()
        plan.steps.append(plan.steps[0])
        #expect(throws: UpshiftError.self) { try plan.validate() }
    }

    /// A planner's result is validated on construction: an invalid executable plan cannot exist, and the
    /// printed plan is exactly the entries of the steps the executor runs.
    @Test func executablePlansAreValidatedAndDescribeTheirSteps() throws {
        let log = PlanEventLog()
        let steps = [PlanFixtures.fakeStep("a", log: log), PlanFixtures.fakeStep("b", log: log, mutates: false)]
        let plan = try ExecutablePlan(runID: PlanFixtures.runID, command: "test", projectDirectory: "/p", summary: ["fact"], steps: steps)
        #expect(plan.plan.steps == steps.map(\.planned))
        #expect(plan.plan.summary == ["fact"])
        #expect(throws: UpshiftError.self) {
            try ExecutablePlan(runID: PlanFixtures.runID, command: "test", projectDirectory: "/p", steps: steps + [PlanFixtures.fakeStep("a", log: log)])
        }
    }

    @Test(arguments: ["20261128-134501-ab12", "19991231-235959-0000"])
    func runIDsAcceptTheirShape(_ text: String) {
        #expect(RunID(text)?.rawValue == text)
    }

    @Test(arguments: ["../../etc", "20261128-134501-AB12", "20261128-134501-ab1", "20261128_134501-ab12", "", "2026112a-134501-ab12"])
    func runIDsRefuseAnythingElse(_ text: String) {
        #expect(RunID(text) == nil)
    }

    @Test func runIDsSortByTime() {
        let early = RunID.make(at: Date(timeIntervalSince1970: 1_800_000_000), random: "ffff")
        let late = RunID.make(at: Date(timeIntervalSince1970: 1_800_000_001), random: "0000")
        #expect(early.rawValue == "20270115-080000-ffff")
        #expect(early < late)
        #expect(RunID(RunID.make().rawValue) != nil)
    }
}
