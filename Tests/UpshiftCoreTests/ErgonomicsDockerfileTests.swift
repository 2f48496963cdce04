import Foundation
import Testing

/// The Dockerfile cannot be built here (no base image can be pulled), so it is linted instead: well-formed
/// instructions, stages that exist, build-context sources that `.dockerignore` lets through and that
/// `scripts/release` writes, libpq installed, and an exec-form entrypoint. This is not a build.
struct ErgonomicsDockerfileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
    }

    /// Logical instructions: comments and blank lines dropped, `\` continuations joined.
    static func instructions(_ text: String) -> [(keyword: String, rest: String)] {
        var logical: [String] = []
        var current = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if current.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasSuffix("\\") {
                current += line.dropLast() + " "
            } else {
                current += line
                logical.append(current)
                current = ""
            }
        }
        if !current.isEmpty { logical.append(current) }
        return logical.map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : "")
        }
    }

    static let keywords: Set<String> = ["FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"]

    @Test func dockerfileInstructionsAreWellFormed() throws {
        let steps = Self.instructions(try Self.text("Dockerfile"))
        #expect(!steps.isEmpty)
        for step in steps {
            #expect(Self.keywords.contains(step.keyword), "unknown or lower-case instruction: \(step.keyword) \(step.rest)")
            #expect(!step.rest.isEmpty, "\(step.keyword) without arguments")
        }
        // Only ARG may come before the first FROM.
        let firstNonArg = steps.first { $0.keyword != "ARG" }
        #expect(firstNonArg?.keyword == "FROM")
        let froms = steps.filter { $0.keyword == "FROM" }
        #expect(froms.last?.rest == "debian:bookworm-slim", "the final stage is debian:bookworm-slim (glibc of the release build)")
        // ENTRYPOINT/CMD in exec form (JSON arrays), so signals reach upshift (Ctrl-C rolls back).
        for keyword in ["ENTRYPOINT", "CMD"] {
            let step = try #require(steps.last { $0.keyword == keyword }, "no \(keyword)")
            let array = try JSONSerialization.jsonObject(with: Data(step.rest.utf8)) as? [String]
            #expect(array != nil, "\(keyword) is not a JSON array: \(step.rest)")
            if keyword == "ENTRYPOINT" { #expect(array == ["upshift"]) }
        }
        let install = steps.filter { $0.keyword == "RUN" }.map(\.rest).joined(separator: " ")
        #expect(install.contains("libpq5"), "libpq5 is upshift's one shared dependency")
        #expect(install.contains("upshift --version") && install.contains("docker compose version"), "the image build proves the binary and the compose plugin run")
    }

    @Test func copySourcesAreStagesOrFilesTheBuildContextKeeps() throws {
        let steps = Self.instructions(try Self.text("Dockerfile"))
        let ignore = try Self.text(".dockerignore").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(ignore.first == "*", ".dockerignore starts by excluding everything")
        let kept = Set(ignore.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) })

        var stages: Set<String> = []
        var contextSources: [String] = []
        for step in steps {
            if step.keyword == "FROM", let range = step.rest.range(of: " AS ", options: .caseInsensitive) {
                stages.insert(String(step.rest[range.upperBound...]).trimmingCharacters(in: .whitespaces))
            }
            guard step.keyword == "COPY" || step.keyword == "ADD" else { continue }
            let words = step.rest.split(separator: " ").map(String.init)
            let flags = words.filter { $0.hasPrefix("--") }
            let paths = words.filter { !$0.hasPrefix("--") }
            #expect(paths.count >= 2, "\(step.keyword) needs a source and a destination: \(step.rest)")
            #expect(paths.last?.hasPrefix("/") == true, "destination should be absolute: \(step.rest)")
            if let from = flags.first(where: { $0.hasPrefix("--from=") }) {
                let stage = String(from.dropFirst("--from=".count))
                #expect(stages.contains(stage), "COPY --from=\(stage) names no earlier stage (have \(stages))")
                #expect(paths.dropLast().allSatisfy { $0.hasPrefix("/") })
            } else {
                contextSources += paths.dropLast()
            }
        }
        #expect(!contextSources.isEmpty, "the binary comes from the build context")
        let release = try Self.text("scripts/release")
        for source in contextSources {
            #expect(kept.contains(source), "\(source) is excluded by .dockerignore")
            #expect(release.contains(source), "scripts/release does not write \(source)")
        }
    }
}
