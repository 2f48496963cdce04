import Foundation
import Testing
import UpshiftCompose
import UpshiftCore
import UpshiftSupport

/// The sidecars' image edits: prepared with the database's, on the text it leaves, one edit per `.env` variable.
struct SidecarImageEditTests {
    static func locator(_ fixture: String, env: Bool = false) -> ImageSourceLocator {
        let dir = ComposeFixtures.directory(fixture)
        return ImageSourceLocator(files: ["\(dir)/compose.yaml"], envFiles: env ? ["\(dir)/.env"] : [], environment: [:])
    }

    @Test func literalSidecarsAreSwitchedOnTheirOwnLines() throws {
        let config = try ComposeFixtures.config("backup-sidecar")
        let db = try DatabaseService.select(from: config)
        let locator = Self.locator("backup-sidecar")
        let dbSource = try #require(locator.locate(service: "db"))
        let resolved = try SidecarImages.resolve(database: db, databaseSource: dbSource, config: config, targetMajor: 18, locate: locator.locate(service:))
        #expect(resolved.notes.isEmpty)
        #expect(resolved.sidecars.map(\.service) == ["backup", "maintenance"])
        #expect(resolved.sidecars.map(\.target.description) == ["postgres:18", "postgres:18-alpine"])
        #expect(resolved.sidecars.allSatisfy { $0.switchedBy == nil })

        // Without the sidecars, the same `postgres:15` on the backup's line makes the database's edit ambiguous.
        let error = #expect(throws: UpshiftError.self) { try ImageSwitch.plan(source: dbSource, current: db.image, targetMajor: 18, environment: [:]) }
        #expect(error?.message.contains("the same value is defined on lines 5, 13") == true, "\(error?.message ?? "")")
        let dbEdit = try ImageSwitch.plan(source: dbSource, current: db.image, targetMajor: 18, environment: [:], alongside: resolved.sidecars.map(\.source))
        #expect(dbEdit.lineNumber == 5)

        let edits = try SidecarImages.prepare(resolved.sidecars, after: dbEdit, targetMajor: 18, environment: [:])
        #expect(edits.map(\.edit.lineNumber) == [13, 20])
        #expect(edits.map(\.edit.newLine) == ["    image: postgres:18", "    image: postgres:18-alpine"])
        // Each edit starts from the text the previous one left: the last holds all three changes and nothing else.
        #expect(edits[0].edit.originalContents == dbEdit.editedContents)
        #expect(edits[1].edit.originalContents == edits[0].edit.editedContents)
        let before = try ComposeFixtures.text("backup-sidecar", "compose.yaml")
        let after = String(decoding: edits[1].edit.editedContents, as: UTF8.self)
        #expect(after == before
            .replacingOccurrences(of: "    image: postgres:15\n", with: "    image: postgres:18\n")
            .replacingOccurrences(of: "    image: postgres:15-alpine\n", with: "    image: postgres:18-alpine\n"))
        #expect(edits[0].edit.diff(label: "compose.yaml").contains("-    image: postgres:15\n+    image: postgres:18\n"))
    }

    @Test func sharedDotEnvVariableIsEditedOnce() throws {
        let config = try ComposeFixtures.config("shared-tag-sidecar")
        let db = try DatabaseService.select(from: config)
        #expect(db.sidecars == ["backup", "restore-check"])
        let locator = Self.locator("shared-tag-sidecar", env: true)
        let dbSource = try #require(locator.locate(service: "db"))
        let resolved = try SidecarImages.resolve(database: db, databaseSource: dbSource, config: config, targetMajor: 17, locate: locator.locate(service:))
        let backup = try #require(resolved.sidecars.first { $0.service == "backup" })
        #expect(backup.switchedBy == "db")
        #expect(backup.target.description == "postgres:17-alpine")
        let check = try #require(resolved.sidecars.first { $0.service == "restore-check" })
        #expect(check.switchedBy == nil && check.target.description == "postgres:17-bookworm")

        let dbEdit = try ImageSwitch.plan(source: dbSource, current: db.image, targetMajor: 17, environment: [:], alongside: resolved.sidecars.map(\.source))
        #expect(dbEdit.isEnvFile && dbEdit.newLine == "PG_MAJOR=17")
        let edits = try SidecarImages.prepare(resolved.sidecars, after: dbEdit, targetMajor: 17, environment: [:])
        #expect(edits.map(\.sidecar.service) == ["restore-check"], "the backup shares PG_MAJOR: no second edit")
        #expect(edits[0].edit.newLine == "    image: postgres:17-bookworm # its own line")
    }

    @Test func sidecarsNotBehindLeftAlone() throws {
        let config = ComposeConfig(name: "p", services: [
            "db": ComposeService(image: "postgres:15", volumes: [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql/data")]),
            "new": ComposeService(image: "postgres:18", command: ["sh", "-c", "sleep infinity"]),
            "floating": ComposeService(image: "postgres:latest", command: ["sh", "-c", "sleep infinity"]),
        ], volumes: ["pg": ComposeTopLevelVolume(name: "p_pg")])
        let db = try DatabaseService.select(from: config)
        let source = ImageSource(service: "db", file: "/p/compose.yaml", line: 3, rawValue: "postgres:15", kind: .literal)
        let resolved = try SidecarImages.resolve(database: db, databaseSource: source, config: config, targetMajor: 18) { _ in nil }
        #expect(resolved.sidecars.isEmpty)
        #expect(resolved.notes == [
            "sidecar floating (postgres:latest) names no major version: left as it is; its pg_dump must be at least 18",
            "sidecar new (postgres:18) is already at PostgreSQL 18: left as it is",
        ])
    }

    @Test func unlocatableOrUneditableSidecarIsRefusedBeforeAnythingChanges() throws {
        let config = try ComposeFixtures.config("backup-sidecar")
        let db = try DatabaseService.select(from: config)
        let locator = Self.locator("backup-sidecar")
        let dbSource = try #require(locator.locate(service: "db"))
        let missing = #expect(throws: UpshiftError.self) {
            try SidecarImages.resolve(database: db, databaseSource: dbSource, config: config, targetMajor: 18) { $0 == "db" ? dbSource : nil }
        }
        #expect(missing?.message.contains("sidecar backup (postgres:15)") == true)
        // A sidecar whose image comes from a variable set in the shell: editing a file would change nothing.
        var sidecar = try #require(try SidecarImages.resolve(database: db, databaseSource: dbSource, config: config, targetMajor: 18, locate: locator.locate(service:)).sidecars.first)
        let dbEdit = try ImageSwitch.plan(source: dbSource, current: db.image, targetMajor: 18, environment: [:], alongside: [sidecar.source])
        sidecar.source.kind = .shellEnvironment(name: "BACKUP_IMAGE")
        let refused = #expect(throws: UpshiftError.self) { try SidecarImages.prepare([sidecar], after: dbEdit, targetMajor: 18, environment: [:]) }
        #expect(refused?.message.hasPrefix("sidecar backup (postgres:15) must be switched with the database") == true, "\(refused?.message ?? "")")
    }

    @Test func alsoSwitchedLinesAreNotAmbiguous() throws {
        let text = "services:\n  a:\n    image: postgres:15\n  b:\n    image: postgres:15\n  c:\n    image: postgres:15\n"
        let editor = ImageTagEditor(environment: [:])
        let plain = ImageTagEditTarget(file: "/p/compose.yaml", location: .imageLine(line: 3))
        #expect(throws: ImageTagEditError.self) { try editor.edit(contents: Data(text.utf8), target: plain, change: .major("18")) }
        // Only b is switched along: c still makes it ambiguous.
        let partly = ImageTagEditTarget(file: "/p/compose.yaml", location: .imageLine(line: 3), alsoSwitchedLines: [5])
        #expect(throws: ImageTagEditError.self) { try editor.edit(contents: Data(text.utf8), target: partly, change: .major("18")) }
        let both = ImageTagEditTarget(file: "/p/compose.yaml", location: .imageLine(line: 3), alsoSwitchedLines: [5, 7])
        let edit = try editor.edit(contents: Data(text.utf8), target: both, change: .major("18"))
        #expect(String(decoding: edit.editedContents, as: UTF8.self) == text.replacingOccurrences(of: "  a:\n    image: postgres:15", with: "  a:\n    image: postgres:18"))
    }
}
