/// The release of this build, printed by `upshift --version` so a bug report or an installed binary can be
/// matched to its source. `scripts/release` names the tarball after it.
public enum UpshiftVersion {
    public static let current = "0.1.0"
}
