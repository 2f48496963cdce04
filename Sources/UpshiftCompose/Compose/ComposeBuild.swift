import Foundation

/// A service's `build:` as `docker compose config --format json` prints it: always the long form, with
/// `context` made absolute (or left a URL for a git context) and either `dockerfile` (relative to the
/// context, default `Dockerfile`) or `dockerfile_inline`.
///
/// upshift reads it to refuse what it cannot do honestly: a service that is built locally and only *tagged*
/// `postgres:15` would have its tag switched and the official image pulled, while its Dockerfile still says
/// `FROM postgres:15` and the next `docker compose build` brings the old major back.
public struct ComposeBuild: Sendable, Hashable, Codable {
    public var context: String?
    public var dockerfile: String?
    public var dockerfileInline: String?

    public init(context: String?, dockerfile: String? = nil, dockerfileInline: String? = nil) {
        self.context = context
        self.dockerfile = dockerfile
        self.dockerfileInline = dockerfileInline
    }

    enum CodingKeys: String, CodingKey {
        case context, dockerfile
        case dockerfileInline = "dockerfile_inline"
    }

    /// Accepts the short form (`build: ./db`) as well, though compose's `config` never prints it.
    public init(from decoder: any Decoder) throws {
        if let context = try? decoder.singleValueContainer().decode(String.self) {
            self.init(context: ComposeEscaping.unescape(context))
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            context: try c.decodeIfPresent(String.self, forKey: .context).map(ComposeEscaping.unescape),
            dockerfile: try c.decodeIfPresent(String.self, forKey: .dockerfile).map(ComposeEscaping.unescape),
            dockerfileInline: try c.decodeIfPresent(String.self, forKey: .dockerfileInline).map(ComposeEscaping.unescape))
    }

    /// The Dockerfile on the host (`context/dockerfile`, or `dockerfile` when absolute); `nil` for an
    /// inline Dockerfile or a context that is not a local folder (a git URL).
    public var dockerfilePath: String? {
        guard dockerfileInline == nil else { return nil }
        let name = dockerfile ?? "Dockerfile"
        if name.hasPrefix("/") { return name }
        guard let context, context.hasPrefix("/") else { return nil }
        return (context.hasSuffix("/") ? context : context + "/") + name
    }

    /// How to name the Dockerfile in a message: its path, `dockerfile_inline`, or the context it lies in.
    public var dockerfileDescription: String {
        if dockerfileInline != nil { return "an inline Dockerfile (dockerfile_inline)" }
        if let dockerfilePath { return dockerfilePath }
        return "\(dockerfile ?? "Dockerfile") in \(context ?? ".")"
    }

    /// The `FROM` lines of the Dockerfile (inline, or read through `readFile`), trimmed; empty when it
    /// cannot be read.
    public func fromLines(readFile: (String) -> String?) -> [String] {
        guard let text = dockerfileInline ?? dockerfilePath.flatMap(readFile) else { return [] }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { line in
            let words = line.split(whereSeparator: \.isWhitespace)
            return words.count >= 2 && words[0].uppercased() == "FROM"
        }
    }
}
