import Foundation
import Testing

/// One database password of the hostile-password suite, and how the deployment spells it for compose.
///
/// The value never appears in a test name or message: `description` is "secret #n (what makes it hostile)".
///
/// How compose reads what the cases write (compose v2, checked with `docker compose config`):
/// - `.env`, single-quoted: literal, nothing interpolated or unescaped (`'Sh0p S3cret "q" ;x'`).
/// - `.env`, unquoted: literal up to an inline ` #` comment, backslashes kept (`a\b\\c'd`); `$` interpolated.
/// - `.env`, double-quoted: `\n`, `\\`, `\"` are unescaped and `$` interpolated, so a literal `$` is `$$`
///   and a newline can be written as `\n`.
/// - the compose file: every value is interpolated, so a literal `$` is `$$`.
/// - `config --format json` writes every literal `$` back as `$$` (docker/compose#8632), and JSON-escapes
///   quotes, backslashes and newlines: the forms a literal-text masker misses.
public struct HostilePassword: Sendable, CustomStringConvertible, CustomTestStringConvertible {
    /// Where the deployment holds the password.
    public enum Placement: Sendable {
        /// `DB_PASSWORD` in `.env`, written exactly as this line; the compose file says `${DB_PASSWORD}`.
        case envLine(String)
        /// Written literally into the compose file (`$` doubled), as some deployments do.
        case composeFile
    }

    /// 1-based, for "secret #n" in messages.
    public var number: Int
    /// What makes it hostile, without the value.
    public var kind: String
    public var value: String
    public var placement: Placement
    /// Too short or too common for "the letters never appear": checked only in value positions (`SecretScan`).
    public var valueOnly: Bool
    /// Part of the CI subset (each case costs 35–60 s on a loaded 2-core machine; the subset keeps the suite near
    /// 3 minutes): the issue's password and the two that only value positions can protect. The rest run with
    /// `UPSHIFT_FULL=1`; the encodings they stress (`$$`, backslashes, `\u`, percent) are also unit-tested in
    /// `RedactorEncodingTests`.
    public var inCI: Bool
    /// What `pg-upgrade` says when it refuses the deployment up front (exit 64); nil when it upgrades.
    public var refusal: String? = nil

    public var label: String { "secret #\(number)" }
    public var description: String { "\(label) (\(kind))" }
    public var testDescription: String { description }

    public static let all: [HostilePassword] = [
        HostilePassword(number: 1, kind: "spaces, double quote, semicolon", value: #"Sh0p S3cret "q" ;x"#,
                        placement: .envLine(#"DB_PASSWORD='Sh0p S3cret "q" ;x'"#), valueOnly: false, inCI: true),
        HostilePassword(number: 2, kind: "backslashes and a single quote", value: #"a\b\\c'd"#,
                        placement: .envLine(#"DB_PASSWORD=a\b\\c'd"#), valueOnly: false, inCI: false),
        HostilePassword(number: 3, kind: "dollar signs, literally in the compose file as $$", value: "Pr1ce$5 $HOME",
                        placement: .composeFile, valueOnly: false, inCI: false),
        HostilePassword(number: 4, kind: "percent signs", value: "100%pure%20x",
                        placement: .envLine("DB_PASSWORD=100%pure%20x"), valueOnly: false, inCI: false),
        HostilePassword(number: 5, kind: "two lines (double-quoted .env value with \\n)", value: "first-line ML1\nsecond line ML2",
                        placement: .envLine(#"DB_PASSWORD="first-line ML1\nsecond line ML2""#), valueOnly: false, inCI: false,
                        refusal: "has more than one line: the postgres image's initdb keeps only its first line"),
        HostilePassword(number: 6, kind: "non-ASCII", value: "pässwörd✓Ω",
                        placement: .envLine("DB_PASSWORD=pässwörd✓Ω"), valueOnly: false, inCI: false),
        HostilePassword(number: 7, kind: "1 character", value: "x",
                        placement: .envLine("DB_PASSWORD=x"), valueOnly: true, inCI: false),
        HostilePassword(number: 8, kind: "2 characters, literally in the compose file", value: "pg",
                        placement: .composeFile, valueOnly: true, inCI: false),
        HostilePassword(number: 9, kind: "a common word upshift prints (postgres)", value: "postgres",
                        placement: .envLine("DB_PASSWORD=postgres"), valueOnly: true, inCI: false),
    ]

    /// The cases this run covers: all with `UPSHIFT_FULL=1`, else the CI subset.
    public static var selected: [HostilePassword] { E2EEnvironment.full ? all : all.filter(\.inCI) }

    /// The value as a YAML double-quoted scalar in a compose file: compose's `$$` for `$`, YAML's escapes.
    public var composeScalar: String {
        var out = "\""
        for scalar in value.replacingOccurrences(of: "$", with: "$$").unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension HostilePassword {
    static let sampleReference = "${DB_PASSWORD:?DB_PASSWORD must be set in .env}"

    /// Turns a copy of the generic sample into this case's deployment: the password where `placement` says,
    /// and carried into the places real deployments put it besides `POSTGRES_PASSWORD` — a URL
    /// (`APP_DB_URL`, userinfo), a libpq conninfo (`APP_CONNINFO`, `password=`) and an exec-form healthcheck
    /// argument (`PGPASSWORD=` for `env`, no shell, so any character survives). None of these names says
    /// "password" at its end, so only the value's position marks it as one.
    public func apply(to d: E2EDeployment) throws {
        let value: String, inner: String
        switch placement {
        case .envLine(let line):
            value = Self.sampleReference
            inner = "${DB_PASSWORD}"
            try d.write(".env", "# Password of the application's PostgreSQL user (hostile-password suite)\n\(line)\n")
        case .composeFile:
            value = composeScalar
            inner = String(composeScalar.dropFirst().dropLast())
            try d.write(".env", "# The database password is written in docker-compose.yml\n")
        }
        var compose = try d.read("docker-compose.yml")
        let appLine = "      APP_DB_PASSWORD: \(Self.sampleReference)\n"
        let dbLine = "      POSTGRES_PASSWORD: \(Self.sampleReference)\n"
        let restartLine = "    restart: unless-stopped\n"
        guard compose.contains(appLine), compose.contains(dbLine), let appEnd = compose.range(of: restartLine) else {
            throw E2EFailure("compose/generic/docker-compose.yml no longer has the lines the hostile-password suite replaces")
        }
        // The app's healthcheck goes before its restart line (the first one in the file).
        compose.replaceSubrange(appEnd, with: """
                healthcheck:
                  test: ["CMD", "env", "PGPASSWORD=\(inner)", "pg_isready", "-q", "-h", "db", "-U", "app"]
                  interval: 2s
                  timeout: 5s
                  retries: 30
            \(restartLine)
            """)
        compose = compose.replacingOccurrences(of: appLine, with: """
                  APP_DB_PASSWORD: \(value)
                  APP_DB_URL: "postgres://app:\(inner)@db:5432/app"
                  APP_CONNINFO: "host=db user=app password=\(inner)"

            """)
        compose = compose.replacingOccurrences(of: dbLine, with: "      POSTGRES_PASSWORD: \(value)\n")
        try d.write("docker-compose.yml", compose)
    }

    /// Sets the role's password to exactly the container's `POSTGRES_PASSWORD`, through psql's own quoting
    /// (`:'pw'`). The image's initdb reads the password as the first line of a file (`--pwfile`), so without
    /// this a multi-line password would be only its first line in the cluster, and the application's value
    /// would not log in.
    public static func setRolePassword(_ d: E2EDeployment) async throws {
        let script = #"exec psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v "pw=$POSTGRES_PASSWORD""#
        let out = try await d.exec("db", ["sh", "-c", script], stdin: Data("ALTER ROLE CURRENT_USER PASSWORD :'pw';\n".utf8))
        guard out.succeeded else { throw E2EFailure("setting the role password failed: exit \(out.exitCode)") }
    }
}
