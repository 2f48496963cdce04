import Foundation
import Testing
@testable import UpshiftCompose

struct EditorTests {
    let editor = ImageTagEditor(environment: ["PATH": "/usr/bin", "PG_SHELL": "16"])

    /// Edits `text` and checks the result is `expected` byte for byte.
    private func check(
        _ text: String, _ location: ImageTagEditTarget.Location, _ change: TagChange = .major("18"), expected: String,
        expectedValue: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ImageTagEdit {
        let edit = try editor.edit(contents: Data(text.utf8), target: ImageTagEditTarget(file: "/p/compose.yml", location: location, expectedValue: expectedValue), change: change)
        #expect(String(decoding: edit.editedContents, as: UTF8.self) == expected, sourceLocation: sourceLocation)
        #expect(edit.originalContents == Data(text.utf8), sourceLocation: sourceLocation)
        return edit
    }

    /// Expects a refusal with `reason`.
    private func refuse(
        _ text: String, _ location: ImageTagEditTarget.Location, _ reason: ImageTagEditError.Reason, _ change: TagChange = .major("18"),
        expectedValue: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try editor.edit(contents: Data(text.utf8), target: ImageTagEditTarget(file: "/p/f", location: location, expectedValue: expectedValue), change: change)
            Issue.record("edit was not refused", sourceLocation: sourceLocation)
        } catch let error as ImageTagEditError {
            #expect(error.reason == reason, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    static let compose = """
        # upshift test
        services:
          db:
            image: postgres:15
            environment:
              POSTGRES_PASSWORD: pw
          app:
            image: inventree/inventree:0.17.0

        """

    // MARK: - Edits

    @Test func literalLineChangesOnlyTheTag() throws {
        let edit = try check(Self.compose, .imageLine(line: 4), expected: Self.compose.replacingOccurrences(of: "postgres:15", with: "postgres:18"), expectedValue: "postgres:15")
        #expect(edit.oldLine == "    image: postgres:15")
        #expect(edit.newLine == "    image: postgres:18")
        #expect((edit.oldValue, edit.newValue) == ("postgres:15", "postgres:18"))
        #expect(edit.diff(label: "compose.yml") == """
            --- compose.yml
            +++ compose.yml
            @@ -2,5 +2,5 @@
             services:
               db:
            -    image: postgres:15
            +    image: postgres:18
                 environment:
                   POSTGRES_PASSWORD: ******

            """)
    }

    @Test func doubleQuotedWithCommentKeepsQuotesAndComment() throws {
        _ = try check("db:\n  image: \"postgres:15-alpine\"   # pinned: see #12\n", .imageLine(line: 2), expected: "db:\n  image: \"postgres:18-alpine\"   # pinned: see #12\n")
    }

    @Test func singleQuotedDropsTheMinorAndKeepsTheVariant() throws {
        _ = try check("  image: 'postgres:15.8-bookworm'\n", .imageLine(line: 1), expected: "  image: 'postgres:18-bookworm'\n")
    }

    @Test func registryWithPortAndPlainComment() throws {
        _ = try check("    image: localhost:5000/library/postgres:15 # mirror\n", .imageLine(line: 1), expected: "    image: localhost:5000/library/postgres:18 # mirror\n")
    }

    @Test func crlfBomAndNoFinalNewlineArePreserved() throws {
        let text = "\u{FEFF}services:\r\n  db:\r\n    image: postgres:15-alpine\r\n    restart: always"
        let edit = try check(text, .imageLine(line: 3), expected: "\u{FEFF}services:\r\n  db:\r\n    image: postgres:18-alpine\r\n    restart: always")
        #expect(edit.editedContents.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(!edit.newLine.contains("\r"))
    }

    @Test func inlineDefaultIsEdited() throws {
        _ = try check("    image: \"postgres:${PG_MAJOR:-15}\"\n", .inlineDefault(line: 1, variable: "PG_MAJOR"), expected: "    image: \"postgres:${PG_MAJOR:-18}\"\n", expectedValue: "15")
        _ = try check("    image: ${PG_IMAGE-postgres:15-alpine}\n", .inlineDefault(line: 1, variable: "PG_IMAGE"), expected: "    image: ${PG_IMAGE-postgres:18-alpine}\n")
    }

    @Test func envVariableWithSecretsAroundIsEditedAndTheDiffShowsNoNeighbour() throws {
        let env = "POSTGRES_PASSWORD=hunter2\nPG_MAJOR=15\nINVENTREE_ADMIN_PASSWORD='also secret'\n"
        let edit = try check(env, .envVariable(name: "PG_MAJOR", line: 2), expected: "POSTGRES_PASSWORD=hunter2\nPG_MAJOR=18\nINVENTREE_ADMIN_PASSWORD='also secret'\n")
        #expect(edit.isEnvFile)
        #expect(edit.diff(context: 3, label: ".env") == "--- .env\n+++ .env\n@@ -2,1 +2,1 @@\n-PG_MAJOR=15\n+PG_MAJOR=18\n")
    }

    @Test func envExportQuotedWholeImageWithComment() throws {
        _ = try check("export PG_IMAGE=\"postgres:15-alpine\" # db image\n", .envVariable(name: "PG_IMAGE", line: nil), expected: "export PG_IMAGE=\"postgres:18-alpine\" # db image\n")
    }

    @Test func envColonFormAndSingleQuotes() throws {
        _ = try check("PG_TAG: 15.8-bookworm\n", .envVariable(name: "PG_TAG", line: 1), expected: "PG_TAG: 18-bookworm\n")
        _ = try check("A=1\nPG_MAJOR='15'\n", .envVariable(name: "PG_MAJOR", line: nil), expected: "A=1\nPG_MAJOR='18'\n")
    }

    @Test func exactTagChangeForApplicationUpdates() throws {
        _ = try check(Self.compose, .imageLine(line: 8), .tag("1.0.0"), expected: Self.compose.replacingOccurrences(of: "0.17.0", with: "1.0.0"))
    }

    @Test func envFileWithCRLFEverywhereIsFine() throws {
        _ = try check("A=1\r\nPG_MAJOR=15\r\n", .envVariable(name: "PG_MAJOR", line: 2), expected: "A=1\r\nPG_MAJOR=18\r\n")
    }

    // MARK: - Refusals

    @Test func refusesDigestPins() {
        refuse("  image: postgres:15@sha256:abcdef\n", .imageLine(line: 1), .digestPinned("postgres:15@sha256:abcdef"))
        refuse("PG_IMAGE=postgres:15@sha256:abcdef\n", .envVariable(name: "PG_IMAGE", line: nil), .digestPinned("postgres:15@sha256:abcdef"))
    }

    @Test func refusesAnchorsAliasesAndMergeKeys() {
        refuse("  image: &pg postgres:15\n", .imageLine(line: 1), .anchorOrAlias)
        refuse("  image: *pg\n", .imageLine(line: 1), .anchorOrAlias)
        refuse("  <<: *base\n", .imageLine(line: 1), .mergeKey)
        refuse("x-base: &base\n  image: postgres:15\nservices:\n  db:\n    <<: *base\n", .imageLine(line: 2), .anchoredBlock(line: 1))
    }

    @Test func refusesTheSameImageOnSeveralLines() {
        refuse("services:\n  db:\n    image: postgres:15\n  replica:\n    image: \"postgres:15\"\n", .imageLine(line: 3), .ambiguous(lines: [3, 5]))
        refuse("services:\n  a:\n    image: postgres:${M:-15}\n  b:\n    image: postgres:${M:-15}\n", .inlineDefault(line: 3, variable: "M"), .ambiguous(lines: [3, 5]))
    }

    @Test func refusesVariablesWhereALiteralWasExpectedAndNestedDefaults() {
        refuse("  image: postgres:${PG_MAJOR}\n", .imageLine(line: 1), .containsVariable("postgres:${PG_MAJOR}"))
        refuse("  image: postgres:${PG_MAJOR:-${OTHER:-15}}\n", .inlineDefault(line: 1, variable: "PG_MAJOR"), .nestedVariable("postgres:${PG_MAJOR:-${OTHER:-15}}"))
        refuse("  image: postgres:${PG_MAJOR}\n", .inlineDefault(line: 1, variable: "PG_MAJOR"), .variableNotOnLine("PG_MAJOR"))
        refuse("PG_MAJOR=${BASE_MAJOR}\n", .envVariable(name: "PG_MAJOR", line: nil), .containsVariable("${BASE_MAJOR}"))
    }

    @Test func refusesMixedLineEndingsAndStrayCarriageReturns() {
        refuse("services:\r\n  db:\n    image: postgres:15\n", .imageLine(line: 3), .mixedLineEndings)
        refuse("  image: postgres:15\rx\n", .imageLine(line: 1), .strayCarriageReturn)
    }

    @Test func refusesEnvDuplicatesShellOverridesMissingAndMultiline() {
        refuse("PG_MAJOR=15\nexport PG_MAJOR=16\n", .envVariable(name: "PG_MAJOR", line: 1), .ambiguous(lines: [1, 2]))
        refuse("PG_SHELL=15\n", .envVariable(name: "PG_SHELL", line: 1), .variableSetInEnvironment("PG_SHELL"))
        refuse("OTHER=15\n", .envVariable(name: "PG_MAJOR", line: nil), .variableNotFound("PG_MAJOR"))
        refuse("PG_MAJOR=\"15\n\"\n", .envVariable(name: "PG_MAJOR", line: nil), .multilineValue)
        refuse("PG_MAJOR=15\n", .envVariable(name: "PG_MAJOR", line: 3), .notAnAssignment(""))
    }

    @Test func refusesTagsWithoutAVersionAndNoOps() {
        refuse("  image: postgres:stable\n", .imageLine(line: 1), .unversionedTag("stable"))
        refuse("  image: postgres:16beta1\n", .imageLine(line: 1), .unversionedTag("16beta1"))
        refuse("  image: postgres:18-alpine\n", .imageLine(line: 1), .unchanged("postgres:18-alpine"))
    }

    /// A floating postgres tag names no major: the edit pins one, keeping the variant.
    @Test func pinsFloatingTags() throws {
        for (line, pinned) in [("  image: postgres\n", "  image: postgres:18\n"), ("  image: postgres:latest\n", "  image: postgres:18\n"),
                               ("  image: postgres:alpine\n", "  image: postgres:18-alpine\n"), ("  image: postgres:alpine3.22\n", "  image: postgres:18-alpine3.22\n"),
                               ("  image: docker.io/library/postgres:bookworm\n", "  image: docker.io/library/postgres:18-bookworm\n")] {
            let edit = try editor.edit(contents: Data(line.utf8), target: ImageTagEditTarget(file: "/p/f", location: .imageLine(line: 1)), change: .major("18"))
            #expect(String(decoding: edit.editedContents, as: UTF8.self) == pinned)
        }
    }

    @Test func refusesOtherShapes() {
        refuse("  db: {image: postgres:15}\n", .imageLine(line: 1), .notAnImageLine("db: {image: postgres:15}"))
        refuse("  image: >-\n    postgres:15\n", .imageLine(line: 1), .flowOrBlockStyle)
        refuse("  image: \"postgres:\\x31\"\n", .imageLine(line: 1), .unsupportedQuoting)
        refuse("  image: postgres:15\n", .imageLine(line: 9), .lineOutOfRange(count: 1))
        refuse("  image: postgres:16\n", .imageLine(line: 1), .unexpectedValue(expected: "postgres:15", found: "postgres:16"), expectedValue: "postgres:15")
        var bytes = Data("  image: postgres:15 # \u{e9}\n".utf8)
        bytes[bytes.count - 3] = 0xFF
        do {
            _ = try editor.edit(contents: bytes, target: ImageTagEditTarget(file: "/p/f", location: .imageLine(line: 1)), change: .major("18"))
            Issue.record("invalid UTF-8 accepted")
        } catch let error as ImageTagEditError {
            #expect(error.reason == .notUTF8)
            #expect(error.description.hasPrefix("cannot change the image tag in /p/f line 1: "))
        } catch { Issue.record("\(error)") }
    }

    @Test(arguments: [
        ("15", "18"), ("15-alpine", "18-alpine"), ("15.8-bookworm", "18-bookworm"), ("15.8", "18"), ("15-alpine3.20", "18-alpine3.20"),
        ("16.4.1-bullseye", "18-bullseye"),
    ])
    func tagRewriterKeepsTheVariant(_ old: String, _ new: String) throws {
        #expect(try TagRewriter.rewrite(tag: old, change: .major("18")) == new)
    }

    @Test func mapsDiscoveredImageSources() throws {
        let literal = ImageSource(service: "db", file: "/p/compose.yml", line: 4, rawValue: "postgres:15", kind: .literal)
        #expect(try ImageTagEditTarget(source: literal) == ImageTagEditTarget(file: "/p/compose.yml", location: .imageLine(line: 4), expectedValue: "postgres:15"))
        let env = ImageSource(service: "db", file: "/p/compose.yml", line: 4, rawValue: "postgres:${PG_MAJOR}", kind: .envVariable(name: "PG_MAJOR", envFile: "/p/.env", line: 2))
        #expect(try ImageTagEditTarget(source: env) == ImageTagEditTarget(file: "/p/.env", location: .envVariable(name: "PG_MAJOR", line: 2)))
        let shell = ImageSource(service: "db", file: "/p/compose.yml", line: 4, rawValue: "postgres:${PG_MAJOR}", kind: .shellEnvironment(name: "PG_MAJOR"))
        #expect(throws: ImageTagEditError.self) { try ImageTagEditTarget(source: shell) }
    }

    // MARK: - Files

    @Test func applyWritesAtomicallyKeepsModeAndRevertRestoresBytes() async throws {
        try await withPlanTempDirectory { dir in
            let path = dir + "/compose.yml"
            try Data(Self.compose.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o640)
            let edit = try editor.prepare(ImageTagEditTarget(file: path, location: .imageLine(line: 4)), change: .major("18"))
            #expect(FileManager.default.contents(atPath: path) == Data(Self.compose.utf8)) // prepare writes nothing
            try editor.apply(edit)
            try editor.apply(edit) // idempotent
            #expect(FileManager.default.contents(atPath: path) == edit.editedContents)
            #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o640)
            try editor.revert(edit)
            try editor.revert(edit) // idempotent
            #expect(FileManager.default.contents(atPath: path) == Data(Self.compose.utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["compose.yml"])
        }
    }

    @Test func applyRefusesAFileChangedSincePreparation() async throws {
        try await withPlanTempDirectory { dir in
            let path = dir + "/.env"
            try Data("PG_MAJOR=15\n".utf8).write(to: URL(fileURLWithPath: path))
            let edit = try editor.prepare(ImageTagEditTarget(file: path, location: .envVariable(name: "PG_MAJOR", line: 1)), change: .major("18"))
            try Data("PG_MAJOR=15\nX=1\n".utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: ImageTagEditError(file: path, line: 1, reason: .fileChanged)) { try editor.apply(edit) }
            #expect(FileManager.default.contents(atPath: path) == Data("PG_MAJOR=15\nX=1\n".utf8))
        }
    }
}
