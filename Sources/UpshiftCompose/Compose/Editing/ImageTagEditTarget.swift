import Foundation

/// Where the image tag to change is written: the one place the editor may touch.
///
/// Deliberately small and independent of discovery (`ImageSource`), so the editor can be tested on
/// literal file contents; `init(source:)` maps a discovered source onto it.
public struct ImageTagEditTarget: Sendable, Hashable, Codable {
    public enum Location: Sendable, Hashable, Codable {
        /// A compose `image:` line holding the reference literally (`image: "postgres:15" # pin`).
        case imageLine(line: Int)
        /// A compose `image:` line whose tag comes from the inline default of `${variable:-value}`.
        case inlineDefault(line: Int, variable: String)
        /// A `.env` assignment (`PG_MAJOR=15`, `export PG_IMAGE="postgres:15"`, `TAG: 15`). `line`, when
        /// given, must be the one definition of `name` in the file.
        case envVariable(name: String, line: Int?)
    }

    /// Absolute path of the compose file or env file to edit.
    public var file: String
    public var location: Location
    /// The value expected at that place now (the raw image reference, the default, or the variable's
    /// value), as discovery saw it; the edit is refused when the file says otherwise.
    public var expectedValue: String?
    /// Other lines of the same file that are switched in the same run (sidecars on the database's image):
    /// the same value written there is no reason to refuse the edit as ambiguous.
    public var alsoSwitchedLines: Set<Int> = []

    enum CodingKeys: String, CodingKey { case file, location, expectedValue }

    public init(file: String, location: Location, expectedValue: String? = nil, alsoSwitchedLines: Set<Int> = []) {
        self.file = file
        self.location = location
        self.expectedValue = expectedValue
        self.alsoSwitchedLines = alsoSwitchedLines
    }
}

/// How the tag should change.
public enum TagChange: Sendable, Hashable, Codable {
    /// Move to another major version and keep the variant suffix: `15-alpine` -> `18-alpine`,
    /// `15.8-bookworm` -> `18-bookworm` (the minor is dropped), `15` -> `18`.
    case major(String)
    /// Replace the whole tag verbatim (`0.17.0` -> `1.0.0`).
    case tag(String)
    /// Replace the whole reference (another repository with `--image`, a new digest pin): a value that is a
    /// bare tag (`postgres:${PG_TAG}`) takes the new tag and digest only when the repository stays the same.
    case reference(String)
}

extension ImageTagEditTarget {
    /// Maps a discovered image source onto an edit target.
    ///
    /// - Throws: `ImageTagEditError` for sources that must not be edited (a variable set in the shell, an
    ///   unsupported form): editing a file would change nothing or something else.
    public init(source: ImageSource) throws {
        switch source.kind {
        case .literal:
            self.init(file: source.file, location: .imageLine(line: source.line), expectedValue: source.rawValue)
        case .envVariable(let name, let envFile, let line):
            self.init(file: envFile, location: .envVariable(name: name, line: line))
        case .default(let name, let value):
            self.init(file: source.file, location: .inlineDefault(line: source.line, variable: name), expectedValue: value)
        case .shellEnvironment(let name):
            throw ImageTagEditError(file: source.file, line: source.line, reason: .variableSetInEnvironment(name))
        case .unsupported(let reason):
            throw ImageTagEditError(file: source.file, line: source.line, reason: .unsupportedForm(reason))
        }
    }
}
