/// The text that defines a service's image, so it can be changed by editing that one line.
///
/// Produced by `ImageSourceLocator`, consumed by the image-tag editor (`Compose/Editing`). Line numbers are
/// 1-based. This is a location, not a promise the edit is safe: the editor re-checks the line, edits it,
/// and verifies the result with `docker compose config`.
public struct ImageSource: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        /// The `image:` line holds the reference literally (`image: postgres:15`).
        case literal
        /// The `image:` line uses `${name}` (or `${name:-…}`), and its value comes from this env file line.
        case envVariable(name: String, envFile: String, line: Int)
        /// The `image:` line uses `${name:-value}` / `${name-value}`, the variable is set nowhere, so the
        /// inline default `value` on the compose line is what counts.
        case `default`(name: String, value: String)
        /// The variable is set in upshift's own environment (the shell), which beats every file: editing a
        /// file would change nothing. The editor must refuse and tell the user.
        case shellEnvironment(name: String)
        /// A form upshift does not edit (several variables, a variable in the repository part, an alias,
        /// a variable set nowhere without a default).
        case unsupported(reason: String)
    }

    public var service: String
    /// The compose file whose `image:` line wins (the last file in merge order that sets it).
    public var file: String
    public var line: Int
    /// The value on that line as written, quotes removed (`postgres:${PG_MAJOR:-15}`).
    public var rawValue: String
    public var kind: Kind

    public init(service: String, file: String, line: Int, rawValue: String, kind: Kind) {
        self.service = service
        self.file = file
        self.line = line
        self.rawValue = rawValue
        self.kind = kind
    }
}
