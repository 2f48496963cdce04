import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

/// The image the database moves to, found and pulled before any downtime.
///
/// `--image` names it exactly; otherwise the image family's tags for the new major are tried in order (the same
/// extension version where it supports the new major, then the family's line for it) and the first one the
/// registry has wins. A reference pinned by digest gets the target's digest from the registry, so the edited
/// compose file is pinned again. The image must run the major asked for: its `postgres --version` is read.
struct TargetImage: Sendable {
    var image: ImageReference
    /// For the plan: which candidate was taken and why, the digest read.
    var notes: [String]

    static func resolve(
        database: DatabaseService, targetMajor: Int, explicit: String?, runner: any CommandRunning, progress: @Sendable (String) -> Void
    ) async throws -> TargetImage {
        var notes: [String] = []
        let candidates: [ImageReference]
        if let explicit {
            guard let reference = ImageReference(parsing: explicit) else {
                throw UpshiftError.usage("--image \"\(explicit)\" is not an image reference", hint: "write it as [registry/]repository:tag[@sha256:…]")
            }
            candidates = [reference]
        } else if database.family == .custom {
            throw UpshiftError.usage(
                "service \(database.service) runs \(database.imageText), a PostgreSQL image upshift cannot derive the PostgreSQL \(targetMajor) image of (not postgres, PostGIS, pgvector, TimescaleDB or Bitnami)",
                hint: "name the target with --image REF: the image for PostgreSQL \(targetMajor) with the same extensions, as its maintainers publish it; nothing was changed")
        } else {
            do {
                candidates = try database.family.targetTags(from: database.image.tag, targetMajor: targetMajor).map { database.image.withTag($0) }
            } catch let failure as TagRewriter.Failure {
                throw UpshiftError.usage("cannot derive the PostgreSQL \(targetMajor) tag of \(database.imageText): \(failure)", hint: "name the target with --image REF")
            }
        }
        guard !candidates.isEmpty else { throw UpshiftError.usage("\(database.imageText) already names PostgreSQL \(targetMajor)") }

        var failures: [String] = []
        var chosen: ImageReference?
        for candidate in candidates {
            progress("pulling \(candidate)")
            let pull = try await runner.run(Command("docker", ["pull", candidate.description], timeout: .seconds(900)))
            if pull.termination.isSuccess { chosen = candidate; break }
            failures.append(pull.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(pull.termination)")
        }
        if chosen == nil {
            // An image built on this host and never pushed (a company's own build) is used as it is.
            for candidate in candidates where try await runner.run(Command("docker", ["image", "inspect", candidate.description], timeout: .seconds(60))).termination.isSuccess {
                chosen = candidate
                notes.append("the target image \(candidate) is not in any registry (\(failures.first ?? "")); the local image is used")
                break
            }
        }
        guard var target = chosen else {
            let others = zip(candidates, failures).dropFirst().map { "\($0.0): \($0.1)" }
            throw UpshiftError(
                "the target image \(candidates[0]) cannot be pulled: \(failures.first ?? "")" + (others.isEmpty ? "" : " (also tried \(others.joined(separator: "; ")))"),
                hint: "check the tag exists in your registry (docker pull \(candidates[0])), or name the image with --image REF; nothing was changed")
        }
        if explicit == nil, target != candidates[0] {
            notes.append("\(candidates[0]) is not in the registry; the target is \(target), the \(database.family.displayName) line for PostgreSQL \(targetMajor)")
        }
        if database.image.digest != nil, target.digest == nil {
            guard let digest = try await repositoryDigest(target, runner: runner) else {
                throw UpshiftError(
                    "\(database.imageText) is pinned by digest, but the registry gave no digest for \(target)",
                    hint: "pin the target yourself with --image \(target.description)@sha256:…; nothing was changed")
            }
            target.digest = digest
            notes.append("pinned by digest as before: \(target) (the registry's digest of \(target.withTag(target.tag ?? "latest")))")
        }

        let version = try await runner.run(Command(
            "docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--entrypoint", "postgres", target.description, "--version"], timeout: .seconds(120)))
        let found = InvenTreeTasks.clientMajor(fromVersionLine: version.stdoutText)
        guard version.termination.isSuccess, found == targetMajor else {
            throw UpshiftError.usage(
                "the target image \(target) runs PostgreSQL \(found.map(String.init) ?? "unknown (no postgres on its PATH)"), not \(targetMajor)",
                hint: "name an image of PostgreSQL \(targetMajor) with --image REF; nothing was changed")
        }
        return TargetImage(image: target, notes: notes)
    }

    /// The `sha256:…` the registry gave for `image` when it was pulled (from `RepoDigests`).
    static func repositoryDigest(_ image: ImageReference, runner: any CommandRunning) async throws -> String? {
        let inspect = try await runner.run(Command("docker", ["image", "inspect", "--format", "{{json .RepoDigests}}", image.description], timeout: .seconds(60)))
        guard inspect.termination.isSuccess, let data = inspect.stdoutText.data(using: .utf8),
              let digests = try? JSONDecoder().decode([String].self, from: data) else { return nil }
        let name = image.withTag("x").description.dropLast(2)   // registry/path as written
        let entries = digests.compactMap { entry -> (String, String)? in
            guard let at = entry.firstIndex(of: "@") else { return nil }
            return (String(entry[..<at]), String(entry[entry.index(after: at)...]))
        }
        // The engine records the name as pulled (`postgres@…`), or normalised (`docker.io/library/postgres@…`).
        let match = entries.first { $0.0 == name } ?? entries.first { ImageReference(parsing: $0.0)?.repository == image.repository }
        return match?.1
    }
}
