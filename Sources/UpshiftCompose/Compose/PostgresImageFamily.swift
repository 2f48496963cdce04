import UpshiftSupport

/// The image families that run a PostgreSQL server, each with its own tag scheme, data directory and user.
///
/// A PostGIS, pgvector or TimescaleDB deployment is upgraded to the *same family's* image for the new major:
/// switching it to `postgres:N` would drop the extensions its data depends on. The tag says the major in a
/// family-specific place (`15-3.4`, `pg15`, `latest-pg15`, `pg15.6-ts2.14.2`), and the new tag is built by the
/// family's rules; anything else that runs a server is upgraded with `--image`, which names the target exactly.
public enum PostgresImageFamily: String, Sendable, Hashable, Codable, CaseIterable {
    /// `postgres` (docker-library), under any registry prefix.
    case official
    /// `postgis/postgis`: `<major>-<postgis>[-alpine]`, built on the official image.
    case postgis
    /// `pgvector/pgvector`: `[<pgvector>-]pg<major>[-<distribution>]`, built on the official image.
    case pgvector
    /// `timescale/timescaledb`: `<timescaledb|latest>-pg<major>[-oss]`, built on the official alpine image.
    case timescaledb
    /// `timescale/timescaledb-ha`: `pg<major>[.<minor>][-ts<timescaledb>][-all|-oss]`; its own layout (data in
    /// `/home/postgres/pgdata/data`, uid 1000).
    case timescaledbHA = "timescaledb-ha"
    /// `bitnami/postgresql` (and `bitnamilegacy/postgresql`): `<major>[.<minor>.<patch>][-debian-N[-rN]]`; its own
    /// layout (`/bitnami/postgresql/data`, uid 1001, `POSTGRESQL_*` variables).
    case bitnami
    /// Any other image that runs a PostgreSQL server (Immich's, Supabase's, a company build): upgraded only
    /// with `--image`, the exact target.
    case custom

    /// The family of `image`'s repository, or `nil` when it is not one of the known families.
    public init?(repositoryOf image: ImageReference) {
        let path = image.repository
        func named(_ repository: String) -> Bool { path == repository || path.hasSuffix("/" + repository) }
        if image.isPostgres || path.hasSuffix("/library/postgres") {
            self = .official
        } else if named("postgis/postgis") {
            self = .postgis
        } else if named("pgvector/pgvector") {
            self = .pgvector
        } else if named("timescale/timescaledb") {
            self = .timescaledb
        } else if named("timescale/timescaledb-ha") {
            self = .timescaledbHA
        } else if named("bitnami/postgresql") || named("bitnamilegacy/postgresql") {
            self = .bitnami
        } else {
            return nil
        }
    }

    /// What the README and messages call the family.
    public var displayName: String {
        switch self {
        case .official: return "postgres (official)"
        case .postgis: return "PostGIS (postgis/postgis)"
        case .pgvector: return "pgvector (pgvector/pgvector)"
        case .timescaledb: return "TimescaleDB (timescale/timescaledb)"
        case .timescaledbHA: return "TimescaleDB HA (timescale/timescaledb-ha)"
        case .bitnami: return "Bitnami (bitnami/postgresql)"
        case .custom: return "custom image"
        }
    }

    /// The PostgreSQL major `tag` names in this family's scheme; `nil` for a floating tag (`latest`) or none.
    public func major(ofTag tag: String?) -> Int? {
        guard let tag else { return nil }
        switch self {
        case .pgvector, .timescaledb, .timescaledbHA:
            guard let component = Self.pgComponent(tag) else { return nil }
            return Int(component.major)
        case .official, .postgis, .bitnami, .custom:
            let digits = tag.prefix(while: \.isNumber)
            return digits.isEmpty ? nil : Int(digits)
        }
    }

    /// The tags to try for PostgreSQL `targetMajor`, best first: the same extension version when it supports
    /// that major, then the family's line for it. The first one the registry has is the target.
    ///
    /// - Throws: `UpshiftError` (exit 64) when the tag cannot be read in the family's scheme, or for `.custom`
    ///   (only `--image` names its target).
    public func targetTags(from tag: String?, targetMajor: Int) throws -> [String] {
        let tag = tag ?? "latest"
        let major = String(targetMajor)
        var candidates: [String] = []
        switch self {
        case .official:
            candidates = [try TagRewriter.rewrite(tag: tag, change: .major(major))]
        case .postgis:
            // `15-3.4-alpine`: major, PostGIS line, variant. PostGIS supports a new major only from some line on.
            let parts = tag.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            let minimum = Self.minimumPostGIS(forMajor: targetMajor)
            if let first = parts.first, Int(first) != nil || first.contains(".") {
                let line = parts.count > 1 ? parts[1] : minimum
                let variant = parts.count > 2 ? "-" + parts[2] : ""
                if line == "master" || Self.version(line, atLeast: minimum) { candidates.append("\(major)-\(line)\(variant)") }
                candidates.append("\(major)-\(minimum)\(variant)")
            } else if tag == "latest" {
                candidates.append("\(major)-\(minimum)")
            } else if tag == "alpine" {
                candidates.append("\(major)-\(minimum)-alpine")
            } else {
                throw Self.unreadable(tag, family: self)
            }
        case .pgvector, .timescaledb:
            guard let component = Self.pgComponent(tag) else { throw Self.unreadable(tag, family: self) }
            let before = String(tag[..<component.range.lowerBound])           // `0.8.0-` or `latest-` or ``
            let after = String(tag[component.range.upperBound...])            // `-bookworm`, `-oss` or ``
            let version = before.hasSuffix("-") ? String(before.dropLast()) : before
            let minimum = self == .pgvector ? Self.minimumPgvector(forMajor: targetMajor) : Self.minimumTimescaleDB(forMajor: targetMajor)
            if !version.isEmpty, version == "latest" || Self.version(version, atLeast: minimum) {
                candidates.append("\(version)-pg\(major)\(after)")
            }
            candidates.append(self == .pgvector ? "pg\(major)\(after)" : "latest-pg\(major)\(after)")
        case .timescaledbHA:
            guard let component = Self.pgComponent(tag), component.range.lowerBound == tag.startIndex else { throw Self.unreadable(tag, family: self) }
            // `pg15.6-ts2.14.2-all`: the minor and the TimescaleDB version belong to the old build; `-all`/`-oss` stay.
            let rest = tag[component.range.upperBound...].split(separator: "-").map(String.init)
            let flavour = rest.last.flatMap { ["all", "oss"].contains($0) ? "-" + $0 : nil } ?? ""
            let timescale = rest.first { $0.hasPrefix("ts") }
            if let timescale, Self.version(String(timescale.dropFirst(2)), atLeast: Self.minimumTimescaleDB(forMajor: targetMajor)) {
                candidates.append("pg\(major)-\(timescale)\(flavour)")
            }
            candidates.append("pg\(major)\(flavour)")
        case .bitnami:
            guard self.major(ofTag: tag) != nil || tag == "latest" else { throw Self.unreadable(tag, family: self) }
            // `15.6.0-debian-12-r7`: the revision names one build of the old version; `-debian-12` is a line.
            var distribution = ""
            if let range = tag.range(of: #"-debian-\d+"#, options: .regularExpression) { distribution = String(tag[range]) }
            if !distribution.isEmpty { candidates.append(major + distribution) }
            candidates.append(major)
        case .custom:
            throw UpshiftError.usage(
                "the target image of a custom PostgreSQL image cannot be derived from its tag",
                hint: "name it with --image REF (the image that runs PostgreSQL \(targetMajor) with the same extensions)")
        }
        var seen = Set<String>()
        return candidates.filter { $0 != tag && seen.insert($0).inserted }
    }

    /// The data directory the image uses when PGDATA is not set.
    public func defaultPGData(major: Int?) -> String {
        switch self {
        case .timescaledbHA: return "/home/postgres/pgdata/data"
        case .bitnami: return "/bitnami/postgresql/data"
        case .official, .postgis, .pgvector, .timescaledb, .custom:
            guard let major, major < 18 else { return "/var/lib/postgresql/\(major ?? DatabaseService.latestMajor)/docker" }
            return "/var/lib/postgresql/data"
        }
    }

    /// Whether the image is built on docker-library's entrypoint (`POSTGRES_*` variables, the 18 layout change).
    public var usesOfficialEntrypoint: Bool { self != .bitnami }

    // MARK: - tag scheme pieces

    /// The `pg<major>[.<minor>]` component of a tag: its range and the major's digits.
    static func pgComponent(_ tag: String) -> (range: Range<String.Index>, major: Substring)? {
        var start = tag.startIndex
        while let found = tag.range(of: "pg", range: start..<tag.endIndex) {
            let atBoundary = found.lowerBound == tag.startIndex || tag[tag.index(before: found.lowerBound)] == "-"
            let digits = tag[found.upperBound...].prefix(while: \.isNumber)
            if atBoundary, !digits.isEmpty {
                var end = digits.endIndex
                // a minor (`pg15.6`) belongs to the component
                if end < tag.endIndex, tag[end] == "." {
                    let minor = tag[tag.index(after: end)...].prefix(while: \.isNumber)
                    if !minor.isEmpty { end = minor.endIndex }
                }
                if end == tag.endIndex || tag[end] == "-" { return (found.lowerBound..<end, digits) }
            }
            start = found.upperBound
        }
        return nil
    }

    /// The first PostGIS line released for a PostgreSQL major (PostGIS support matrix).
    static func minimumPostGIS(forMajor major: Int) -> String {
        switch major {
        case ...15: return "3.3"
        case 16: return "3.4"
        case 17: return "3.5"
        default: return "3.6"
        }
    }

    /// The first pgvector release that builds for a PostgreSQL major (pgvector's CHANGELOG).
    static func minimumPgvector(forMajor major: Int) -> String {
        switch major {
        case ...16: return "0.5.0"
        case 17: return "0.7.0"
        default: return "0.8.1"
        }
    }

    /// The first TimescaleDB release that supports a PostgreSQL major (TimescaleDB's release notes).
    static func minimumTimescaleDB(forMajor major: Int) -> String {
        switch major {
        case ...15: return "2.9.0"
        case 16: return "2.13.0"
        case 17: return "2.17.0"
        default: return "2.23.0"
        }
    }

    /// Dotted numeric comparison (`0.8.0` ≥ `0.7.4`); a non-numeric version is not "at least" anything.
    static func version(_ version: String, atLeast minimum: String) -> Bool {
        let a = version.split(separator: ".").map { Int($0) }
        let b = minimum.split(separator: ".").map { Int($0) }
        guard !a.isEmpty, a.allSatisfy({ $0 != nil }), b.allSatisfy({ $0 != nil }) else { return false }
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i]! : 0, y = i < b.count ? b[i]! : 0
            if x != y { return x > y }
        }
        return true
    }

    static func unreadable(_ tag: String, family: PostgresImageFamily) -> UpshiftError {
        UpshiftError.usage(
            "cannot read the PostgreSQL major in tag \"\(tag)\" of a \(family.displayName) image",
            hint: "pin a tag of that family's scheme, or name the target with --image REF")
    }
}
