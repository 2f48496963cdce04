/// Line handling shared by the text scans of compose files and env files.
public enum ComposeText {
    /// The lines of `text` with their terminators removed, numbered as an editor numbers them (1-based by
    /// index + 1). Works on Unicode scalars because Swift treats `\r\n` as one `Character`.
    public static func lines(_ text: String) -> [String] {
        var result: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                if current.last == "\r" { current.removeLast() }
                result.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        if current.last == "\r" { current.removeLast() }
        result.append(String(current))
        return result
    }
}
