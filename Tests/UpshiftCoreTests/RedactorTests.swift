import Foundation
import Testing
@testable import UpshiftCompose
@testable import UpshiftCore
@testable import UpshiftSupport

struct RedactorTests {
    @Test func masksEverySecretLongestFirst() {
        let r = Redactor(secrets: ["s3cret", "s3cret-longer", "x"])
        #expect(r.redact("a s3cret-longer b s3cret c x") == "a ****** b ****** c x")
    }
}

/// The forms a hostile password takes in what upshift writes (issue 16).
struct RedactorEncodingTests {
    static let hostile = ["Sh0p S3cret \"q\" ;x", "back\\slash\\", "d$llar$$", "100%sure", "multi\nline pass", "grüße-пароль-密码", "tab\there", "p/slash/"]

    @Test(arguments: hostile)
    func everyEncodingIsMasked(_ secret: String) throws {
        let r = Redactor(secrets: [secret])
        // JSON as Foundation writes it, compose's JSON (which escapes what Go escapes), and $$.
        let foundation = String(decoding: try JSONSerialization.data(withJSONObject: ["v": secret]), as: UTF8.self)
        #expect(!r.redact(foundation).contains(secret) && r.redact(foundation).contains(Redactor.mask), "\(foundation)")
        let dollar = "POSTGRES_PASSWORD: " + secret.replacingOccurrences(of: "$", with: "$$")
        #expect(r.redact(dollar) == "POSTGRES_PASSWORD: ******", "\(r.redact(dollar))")
        let ascii = "{\"v\":\"" + Redactor.asciiJSONEscaped(secret) + "\"}"
        #expect(r.redact(ascii) == "{\"v\":\"******\"}", "\(r.redact(ascii))")
        // stderr is read line by line: each line of a multi-line secret is masked on its own.
        for line in secret.split(separator: "\n") where secret.contains("\n") {
            #expect(!r.redact("error near \(line)").contains(line))
        }
    }

    @Test func resolvedConfigBlanksSecretNamedVariables() throws {
        let config = #"{"name":"p","services":{"db":{"image":"postgres:15","environment":{"POSTGRES_PASSWORD":"x","POSTGRES_USER":"app","SMTP_PASS":"ab","API_TOKEN":"t0k","EMPTY":null}}}}"#
        let masked = try #require(try JSONSerialization.jsonObject(with: ResolvedConfigMask.mask(Data(config.utf8))) as? [String: Any])
        let env = try #require(((masked["services"] as? [String: Any])?["db"] as? [String: Any])?["environment"] as? [String: Any])
        #expect(env["POSTGRES_PASSWORD"] as? String == "******" && env["SMTP_PASS"] as? String == "******" && env["API_TOKEN"] as? String == "******")
        #expect(env["POSTGRES_USER"] as? String == "app")
    }

    @Test func diffContextNeverShowsASecret() {
        #expect(ResolvedConfigMask.maskingSecretValue("      POSTGRES_PASSWORD: hunter2") == "      POSTGRES_PASSWORD: ******")
        #expect(ResolvedConfigMask.maskingSecretValue("      - POSTGRES_PASSWORD=hunter2") == "      - POSTGRES_PASSWORD=******")
        #expect(ResolvedConfigMask.maskingSecretValue("      POSTGRES_USER: app") == "      POSTGRES_USER: app")
        #expect(ResolvedConfigMask.maskingSecretValue("    environment:") == "    environment:")
    }
}

/// A `Secret` renders as the mask in every way Swift turns a value into text or JSON.
struct SecretTests {
    @Test func neverRendersInClear() throws {
        let secret = Secret("Sh0p S3cret \"q\" ;x")
        #expect("\(secret)" == Redactor.mask && String(describing: secret) == Redactor.mask && String(reflecting: secret) == "Secret(******)")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("S3cret"), "\(dumped)")
        let json = String(decoding: try JSONEncoder().encode(["password": secret]), as: UTF8.self)
        #expect(json == #"{"password":"******"}"#)
        #expect(secret.revealed == "Sh0p S3cret \"q\" ;x")
    }
}

/// Credentials found by where they stand, without knowing their value (`CredentialText`, `ResolvedConfigMask`).
struct CredentialTextTests {
    @Test func wordsAssignmentsAndURLs() {
        #expect(CredentialText.maskWord(#"PGPASSWORD=Sh0p S3cret "q" ;x"#) == "PGPASSWORD=******")
        #expect(CredentialText.maskWord("--password=x") == "--password=******")
        #expect(CredentialText.maskWord("postgres://app:x@db:5432/app") == "postgres://app:******@db:5432/app")
        #expect(CredentialText.maskWord("host=db user=app password=x") == "host=db user=app password=******")
        #expect(CredentialText.maskText("host=db password='a b' user=app") == "host=db password='******' user=app")
        #expect(CredentialText.maskWord("postgres:15") == "postgres:15")
        #expect(CredentialText.maskWord("https://example.org/a?b=c") == "https://example.org/a?b=c")
        #expect(CredentialText.maskWord("POSTGRES_HOST_AUTH_METHOD=trust") == "POSTGRES_HOST_AUTH_METHOD=trust")
    }

    /// The hostile-password suite found a one-character password in `config.resolved.json`: in a URL and a
    /// conninfo held by variables whose names do not say "password", and in a healthcheck word.
    @Test func resolvedConfigMasksCredentialsByPlace() throws {
        let config = #"""
        {"name":"p","services":{"app":{"image":"app:1","environment":{"APP_DB_URL":"postgres://app:x@db:5432/app","APP_CONNINFO":"host=db user=app password=x","APP_DB_HOST":"db"},
         "healthcheck":{"test":["CMD","env","PGPASSWORD=x","pg_isready"]},"command":["serve","--db-password=x"]}}}
        """#
        let masked = String(decoding: ResolvedConfigMask.mask(Data(config.utf8)), as: UTF8.self)
        for leak in ["app:x@", "password=x", "PGPASSWORD=x", "db-password=x"] { #expect(!masked.contains(leak), "\(leak)") }
        for kept in ["\"APP_DB_HOST\" : \"db\"", "postgres://app:******@db:5432/app", "pg_isready", "\"image\" : \"app:1\""] { #expect(masked.contains(kept), "\(kept)") }
    }
}

/// A guessable secret (1–2 characters, or a word upshift prints anyway) is masked where it stands as a value,
/// not as text: masking `postgres` in `postgres:15` or `/var/lib/postgresql` prints it by what is left.
struct GuessableSecretTests {
    @Test func aShortPasswordIsMaskedAsAValue() {
        let r = Redactor(secrets: ["x"])
        for (text, masked) in [
            ("env PGPASSWORD=x psql", "env PGPASSWORD=****** psql"),
            (#"{"POSTGRES_PASSWORD":"x","max":"x"}"#, #"{"POSTGRES_PASSWORD":"******","max":"x"}"#),
            (#"  "APP_DB_PASSWORD" : "x","#, #"  "APP_DB_PASSWORD" : "******","#),
            (#"{\"POSTGRES_PASSWORD\":\"x\"}"#, #"{\"POSTGRES_PASSWORD\":\"******\"}"#),
            ("host=db password=x user=x", "host=db password=****** user=x"),
            ("postgres://x:x@db/x", "postgres://x:******@db/x"),
            ("ALTER ROLE x PASSWORD 'x'", "ALTER ROLE x PASSWORD '******'"),
            ("PASSWORD=xy max=x x", "PASSWORD=xy max=x x"),
        ] {
            #expect(r.redact(text) == masked, "\(text)")
        }
    }

    @Test func aCommonWordStaysReadableButNotAsAValue() {
        var r = Redactor()
        r.add(Secret("postgres"))
        #expect(r.redact("service db: postgres:15 -> postgres:18, PGDATA /var/lib/postgresql/data") == "service db: postgres:15 -> postgres:18, PGDATA /var/lib/postgresql/data")
        #expect(r.redact("POSTGRES_PASSWORD: postgres") == "POSTGRES_PASSWORD: ******")
        #expect(r.redact("postgres://app:postgres@db/postgres") == "postgres://app:******@db/postgres")
        // A strong password is still masked everywhere, a guessable one is told apart per deployment.
        #expect(!Secret("Sh0p S3cret").isCommonWord && Secret("postgres").isCommonWord && Secret("pg").isCommonWord)
        #expect(Secret("myshop", commonWords: ["myshop_dbdata"]).isCommonWord && !Secret("myshop").isCommonWord)
    }

    @Test func deploymentNamesMakeAPasswordGuessable() throws {
        let config = ComposeConfig(name: "myshop", services: [
            "db": ComposeService(image: "postgres:15", environment: ["POSTGRES_PASSWORD": "myshop", "POSTGRES_USER": "app"]),
        ])
        let database = try DatabaseService.select(from: config)
        #expect(database.password?.isCommonWord == true && database.password?.revealed == "myshop")
    }

    @Test func mergingKeepsHowEachSecretIsMasked() {
        var a = Redactor()
        a.add(Secret("postgres"))
        let merged = a.merging(Redactor(secrets: ["Strong-pw-1"]))
        #expect(merged.redact("postgres:15 Strong-pw-1 PGPASSWORD=postgres") == "postgres:15 ****** PGPASSWORD=******")
    }
}

/// A password of several lines cannot be given to a new cluster by the image's initdb (it keeps the first line).
struct MultiLinePasswordTests {
    @Test func isRefusedBeforeAnythingChanges() throws {
        func database(_ password: String) throws -> DatabaseService {
            try DatabaseService.select(from: ComposeConfig(name: "p", services: [
                "db": ComposeService(image: "postgres:15", environment: ["POSTGRES_PASSWORD": password]),
            ]))
        }
        #expect(throws: UpshiftError.self) { try PgUpgradePreflight.refuseMultiLinePassword(try database("Zeile-A\nZeile-B"), targetMajor: 18) }
        do {
            try PgUpgradePreflight.refuseMultiLinePassword(try database("Zeile-A\nZeile-B"), targetMajor: 18)
        } catch let error as UpshiftError {
            #expect(error.exitCode == .usage && !error.message.contains("Zeile") && !(error.hint ?? "").contains("Zeile"))
        }
        try PgUpgradePreflight.refuseMultiLinePassword(try database("one line"), targetMajor: 18)
    }
}
