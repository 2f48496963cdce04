/// A docker image reference split into its parts, following the distribution reference grammar.
///
/// Compose prints images exactly as written (`postgres:15`, `docker.io/library/postgres:15`,
/// `myreg:5000/postgres:15-alpine` are distinct strings), so upshift compares *parsed* references:
/// "is this postgres", "which major", "which variant" must not depend on how the user spelled it.
public struct ImageReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Registry host (with port) when the first path component names one (`myreg:5000`, `ghcr.io`,
    /// `localhost`); `nil` means Docker Hub.
    public var registry: String?
    /// The path after the registry, as written: `postgres`, `library/postgres`, `inventree/inventree`.
    public var path: String
    public var tag: String?
    /// `sha256:…` when pinned by digest. The engine pulls by digest and ignores the tag then.
    public var digest: String?

    public init(registry: String? = nil, path: String, tag: String? = nil, digest: String? = nil) {
        self.registry = registry
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// Parses `[registry[:port]/]path[:tag][@digest]`. Returns `nil` for an empty or malformed reference
    /// (for example `postgres:` left behind by an unset variable).
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            guard let d = digest, d.contains(":"), !d.hasSuffix(":") else { return nil }
        }
        var registry: String?
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                registry = String(first)
                rest = rest[rest.index(after: slash)...]
            }
        }
        var tag: String?
        // The tag separator is a ':' after the last '/', so a registry port is never taken for a tag.
        let lastComponentStart = rest.lastIndex(of: "/").map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[lastComponentStart...].lastIndex(of: ":") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard let t = tag, !t.isEmpty else { return nil }
        }
        guard !rest.isEmpty, !rest.hasPrefix("/"), !rest.hasSuffix("/") else { return nil }
        self.init(registry: registry, path: String(rest), tag: tag, digest: digest)
    }

    /// The repository with Docker Hub's implicit `library/` removed: `postgres` for `postgres`,
    /// `library/postgres` and `docker.io/library/postgres`; `inventree/inventree` stays as is.
    public var repository: String {
        if path.hasPrefix("library/") && (registry == nil || isDockerHub) {
            return String(path.dropFirst("library/".count))
        }
        return path
    }

    /// The repository without any registry or organisation: the last path component.
    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }

    public var isDockerHub: Bool {
        guard let registry else { return true }
        return ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(registry)
    }

    /// True for the official postgres image under any registry prefix (a mirror such as
    /// `myreg:5000/postgres` or `registry.example.com/library/postgres` counts).
    public var isPostgres: Bool {
        repository == "postgres" || path == "library/postgres"
    }

    /// The tag without its variant: `15.8` for `15.8-bookworm`.
    public var version: String? {
        guard let tag else { return nil }
        return tag.split(separator: "-", maxSplits: 1).first.map(String.init)
    }

    /// The variant suffix after the first `-`: `bookworm`, `alpine`, `alpine3.20`; `nil` when none.
    public var variant: String? {
        guard let tag, let dash = tag.firstIndex(of: "-") else { return nil }
        let suffix = tag[tag.index(after: dash)...]
        return suffix.isEmpty ? nil : String(suffix)
    }

    /// The PostgreSQL image family of the repository (`nil` for any other image).
    public var family: PostgresImageFamily? { PostgresImageFamily(repositoryOf: self) }

    /// The major version the tag names, read in the image family's scheme: `15`, `15.8`, `15-alpine`,
    /// `18beta1` -> 18, and `pg15`, `0.8.0-pg15`, `latest-pg15` for pgvector and TimescaleDB; `nil` for
    /// `latest`, `alpine`, no tag, or a digest-only reference.
    public var major: Int? { (family ?? .official).major(ofTag: tag) }

    /// The reference with `tag` replaced and any digest dropped (a digest would pin the old image).
    public func withTag(_ newTag: String) -> ImageReference {
        ImageReference(registry: registry, path: path, tag: newTag, digest: nil)
    }

    /// The same image at another major, keeping the variant: `postgres:15.8-bookworm` -> `postgres:18-bookworm`,
    /// `pgvector/pgvector:0.8.0-pg18` -> `pgvector/pgvector:0.8.0-pg15` (the family's first candidate).
    public func withMajor(_ major: Int) -> ImageReference {
        if let family, family != .official, let tag = try? family.targetTags(from: self.tag, targetMajor: major).first {
            return withTag(tag)
        }
        return withTag(variant.map { "\(major)-\($0)" } ?? String(major))
    }

    public var description: String {
        var text = registry.map { "\($0)/" } ?? ""
        text += path
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
