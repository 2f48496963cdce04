import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import UpshiftCore
import UpshiftTestSupport

/// The hostile-password suite: real upshift commands on a real deployment whose database password is hostile,
/// then every byte upshift printed (stdout and stderr of each command) and every file it wrote (all of
/// `<project>/.upshift` — audit log, run folders, journals, plans, fingerprints, the resolved config — and the
/// dump folder `<project>/backups`) searched for the password by `SecretScan`, which says what "0 occurrences"
/// means for each kind of password.
///
/// The only files allowed to hold it are upshift's byte copies of the user's own files
/// (`.upshift/runs/<id>/compose/…`, which rollback puts back): each must be byte-identical to a version of
/// `.env` or the compose file the test saw, mode 0600, in folders that are 0700.
///
/// Per password: `status`, `doctor`, `pg-upgrade --to 18 --dry-run` (text and `--json`), a run that fails in the
/// window (a role setting PostgreSQL 18 no longer has stops the restore of the globals, so the error, the
/// automatic rollback and its output are all produced), the real upgrade, `status`, `rollback`, `log` and
/// `log --json`; a password of several lines is refused up front (exit 64: the image's initdb would keep only
/// its first line), and the refusal, its audit record and the status are scanned instead. The deployment is the generic sample (a named volume), freshly initialised per password:
/// its `up` and 1 MB seed take about 3 s, less than copying a golden volume and changing the role's password
/// would save. CI runs the cases marked `inCI` (`HostilePassword.selected`); `UPSHIFT_FULL=1` runs all.
@Suite(.serialized)
struct HostilePasswordEndToEndTests {
    static let enabled = E2EEnvironment.canRunUpshiftEndToEnd

    @Test(.enabled(if: enabled, "\(E2EEnvironment.skipReason)"), arguments: HostilePassword.selected)
    func nothingUpshiftPrintsOrWritesHoldsThePassword(_ password: HostilePassword) async throws {
        if !E2EEnvironment.full, password.number == HostilePassword.selected.first?.number {
            let skipped = HostilePassword.all.filter { !$0.inCI }.map(\.label)
            print("hostile passwords: CI subset; UPSHIFT_FULL=1 also runs \(skipped.joined(separator: ", "))")
        }
        try await E2EUpgrade.timed("hostile password \(password)") {
            try await E2EDeployment.with(sample: "generic", namePrefix: "hostile-pw") { d in
                try await Self.exercise(d, password)
            }
        }
    }

    /// Runs every command on a fresh deployment carrying `password`, then scans.
    static func exercise(_ d: E2EDeployment, _ password: HostilePassword) async throws {
        let scan = SecretScan(password)
        try password.apply(to: d)
        var userFiles = Set<Data>()
        func recordUserFiles() throws {
            for name in [".env", "docker-compose.yml"] { userFiles.insert(try Data(contentsOf: d.url(name))) }
        }
        try recordUserFiles()
        try await d.up()
        try await HostilePassword.setRolePassword(d)
        try await E2EUpgrade.seed(d, megabytes: 1)

        var outputs: [(label: String, output: E2EOutput)] = []
        func upshift(_ arguments: [String], expect exitCode: Int32) async throws -> E2EOutput {
            let output = try await d.upshift(arguments)
            outputs.append(("upshift \(arguments.joined(separator: " "))", output))
            try recordUserFiles()
            if output.exitCode != exitCode {
                // The output may hold the password if upshift leaks it: shown masked.
                Issue.record("""
                    upshift \(arguments.joined(separator: " ")) exited \(output.exitCode), expected \(exitCode) (\(password))
                    --- stdout (tail, \(password.label) masked)
                    \(scan.masked(String(output.stdout.suffix(2500))))
                    --- stderr (tail, \(password.label) masked)
                    \(scan.masked(String(output.stderr.suffix(2500))))
                    """)
            }
            return output
        }

        _ = try await upshift(["status"], expect: 0)
        _ = try await upshift(["doctor"], expect: 0)
        let refused: Int32? = password.refusal == nil ? nil : 64
        let dryRun = try await upshift(["pg-upgrade", "--to", "18", "--dry-run"], expect: refused ?? 0)
        let dryJSON = try await upshift(["pg-upgrade", "--to", "18", "--dry-run", "--json"], expect: refused ?? 0)
        if let refusal = password.refusal {
            // Refused before anything changes: the refusal itself, its audit record and the status are scanned.
            // Bools first: `#expect` prints the operands of a failed expression, and the output is not masked.
            let dryRunRefused = dryRun.stderr.contains(refusal)
            #expect(dryRunRefused, "no refusal for \(password)")
            let run = try await upshift(["pg-upgrade", "--to", "18", "--yes"], expect: 64)
            let runRefused = run.stderr.contains(refusal)
            #expect(runRefused, "no refusal for \(password)")
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        } else {
            let isJSON = (try? JSONSerialization.jsonObject(with: Data(dryJSON.stdout.utf8))) != nil
            #expect(isJSON, "--dry-run --json is not JSON")
            // A run that fails inside the window: PostgreSQL 16 removed force_parallel_mode, so restoring the
            // dumped globals on 18 stops (ON_ERROR_STOP) after the old cluster was moved aside; the automatic
            // rollback runs.
            _ = try await E2EUpgrade.psql(d, service: "db", "ALTER ROLE app SET force_parallel_mode = off")
            let failed = try await upshift(["pg-upgrade", "--to", "18", "--yes"], expect: 1)
            let atRestore = failed.stderr.contains("failed at step restore"), rolledBack = failed.stderr.contains("rollback complete")
            #expect(atRestore, "the failing run did not fail at the restore (\(password))")
            #expect(rolledBack, "the failing run did not roll back (\(password))")
            _ = try await E2EUpgrade.psql(d, service: "db", "ALTER ROLE app RESET force_parallel_mode")

            _ = try await upshift(["pg-upgrade", "--to", "18", "--yes"], expect: 0)
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 18)
            _ = try await upshift(["status"], expect: 0)
            _ = try await upshift(["rollback", "--yes"], expect: 0)
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        }
        _ = try await upshift(["status"], expect: 0)
        _ = try await upshift(["log"], expect: 0)
        _ = try await upshift(["log", "--json"], expect: 0)

        // Everything printed.
        var findings: [SecretScan.Finding] = []
        for (label, output) in outputs {
            findings += scan.findings(in: output.stdout, place: "stdout of \(label)")
            findings += scan.findings(in: output.stderr, place: "stderr of \(label)")
        }
        // Everything written: the project folder but the user's own two files.
        var copies = 0
        let files = scan.findings(under: d.path) { relative in
            if relative == ".env" || relative == "docker-compose.yml" { return true }
            guard Self.isSnapshotCopy(relative), let data = FileManager.default.contents(atPath: d.path + "/" + relative),
                  userFiles.contains(data) else { return false }
            copies += 1
            return true
        }
        findings += files.findings
        let modeProblems = Self.modeProblems(d)
        for finding in findings { Issue.record("\(password): \(finding)") }
        for problem in modeProblems { Issue.record("\(password): \(problem)") }
        #expect(files.files >= (password.refusal == nil ? 20 : 1), "only \(files.files) files scanned: the runs did not write what they should")

        if password.valueOnly {
            // Not masked as text: a word that is everywhere in the plan stays readable (and a mask would say
            // what the password is); only its value positions are kept out.
            let plain = scan.plainOccurrences(in: dryRun.stdout)
            if password.value.count >= 3 { #expect(plain > 0, "\(password) is masked as text in the plan: it says where the password is") }
            print("\(password): \(plain) plain occurrences in the dry-run plan, none as a value")
        }
        let seconds = outputs.map { (label: $0.label, seconds: Double($0.output.duration.components.seconds) + Double($0.output.duration.components.attoseconds) / 1e18) }
        print("\(password): upshift ran \(String(format: "%.1f", seconds.reduce(0) { $0 + $1.seconds })) s: " + seconds.map { "\($0.label.dropFirst(8)) \(String(format: "%.1f", $0.seconds))" }.joined(separator: ", "))
        print("\(password): \(outputs.count) outputs, \(files.files) files scanned (\(copies) byte copies of the user's files, 0600): \(findings.count) findings, \(modeProblems.count) mode problems")
    }

    // MARK: - The byte copies

    /// `.upshift/runs/<id>/compose/…` (a project-relative path): where a run keeps the user's files as they
    /// were, and as it left them (`compose/result/`).
    static func isSnapshotCopy(_ relative: String) -> Bool {
        let parts = relative.split(separator: "/")
        return parts.count >= 5 && parts[0] == ".upshift" && parts[1] == "runs" && parts[3] == "compose"
    }

    /// Run folders, the snapshot folders in them and everything in the dump folder must be 0700 (folders) and
    /// 0600 (files); nothing else in a run folder may be open to group or others.
    static func modeProblems(_ d: E2EDeployment) -> [String] {
        var problems: [String] = []
        for top in [".upshift/runs", "backups"] {
            let root = d.path + "/" + top
            guard let enumerator = FileManager.default.enumerator(atPath: root) else { continue }
            while let relative = enumerator.nextObject() as? String {
                var info = stat()
                guard lstat(root + "/" + relative, &info) == 0 else { continue }
                let mode = Int(info.st_mode) & 0o7777
                let wanted = (info.st_mode & S_IFMT) == S_IFDIR ? 0o700 : 0o600
                let parts = relative.split(separator: "/")
                let strict = top == "backups" || parts.count == 1 || (parts.count >= 2 && parts[1] == "compose")
                if strict, mode != wanted {
                    problems.append("\(top)/\(relative) is \(String(mode, radix: 8)), not \(String(wanted, radix: 8))")
                } else if mode & 0o077 != 0 {
                    problems.append("\(top)/\(relative) is \(String(mode, radix: 8)): group or others can read it")
                }
            }
        }
        return problems
    }
}

/// The scanner itself, on text with known leaks and known non-leaks: the suite above is only as good as it.
struct HostilePasswordScannerTests {
    @Test func findsEveryFormOfALongPassword() {
        let scan = SecretScan(secret: #"Sh0p S3cret "q" ;x"#, label: "secret #1", valueOnly: false)
        for leak in [#"pw Sh0p S3cret "q" ;x"#, #"{"v":"Sh0p S3cret \"q\" ;x"}"#, #"echo 'Sh0p S3cret "q" ;x'"#, "u:Sh0p%20S3cret%20%22q%22%20%3Bx@h"] {
            #expect(!scan.findings(in: leak, place: "t").isEmpty)
        }
        #expect(scan.findings(in: "PGPASSWORD=****** Sh0p", place: "t").isEmpty)
        let quoted = SecretScan(secret: #"a\b\\c'd"#, label: "secret #2", valueOnly: false)
        for leak in [#"'a\b\\c'\''d'"#, #""a\\b\\\\c'd""#, #"PASSWORD 'a\b\\c''d'"#] {
            #expect(!quoted.findings(in: leak, place: "t").isEmpty)
        }
        let dollar = SecretScan(secret: "Pr1ce$5 $HOME", label: "secret #3", valueOnly: false)
        #expect(!dollar.findings(in: #""POSTGRES_PASSWORD": "Pr1ce$$5 $$HOME""#, place: "t").isEmpty)
        let lines = SecretScan(secret: "first-line ML1\nsecond line ML2", label: "secret #5", valueOnly: false)
        #expect(!lines.findings(in: "stderr: second line ML2", place: "t").isEmpty)
        #expect(!lines.findings(in: #"{"p":"first-line ML1\nsecond line ML2"}"#, place: "t").isEmpty)
        let unicode = SecretScan(secret: "pässwörd✓Ω", label: "secret #6", valueOnly: false)
        #expect(!unicode.findings(in: #""p\u00e4ssw\u00f6rd\u2713\u03a9""#, place: "t").isEmpty)
    }

    @Test func findsAShortPasswordOnlyAsAValue() {
        let scan = SecretScan(secret: "x", label: "secret #7", valueOnly: true)
        for leak in ["PGPASSWORD=x", "env 'PGPASSWORD=x' psql", #""POSTGRES_PASSWORD":"x""#, #"  "APP_DB_PASSWORD" : "x","#,
                     #"{\"POSTGRES_PASSWORD\":\"x\"}"#, "host=db password=x user=app", "password='x'", "postgres://app:x@db/app",
                     "ALTER ROLE app PASSWORD 'x'", "POSTGRES_PASSWORD: x", "--password=x"] {
            #expect(scan.findings(in: leak, place: "t").count == 1, "\(leak)")
        }
        for fine in ["x", "PASSWORD=xy", "PGPASSWORD=******", "max_connections=x", "image: x:15", "user=x", "https://x.org/x@y", "-x"] {
            #expect(scan.findings(in: fine, place: "t").isEmpty, "\(fine)")
        }
        #expect(scan.masked("a PGPASSWORD=x b") == "a PGPASSWORD=<secret #7> b")
    }

    @Test func aCommonWordIsAFindingAsAValueOrAsAMaskThatRevealsIt() {
        let scan = SecretScan(secret: "postgres", label: "secret #9", valueOnly: true)
        #expect(scan.findings(in: "service db: postgres:15 -> postgres:18, PGDATA /var/lib/postgresql/data", place: "t").isEmpty)
        #expect(scan.plainOccurrences(in: "postgres:15 -> postgres:18") == 2)
        #expect(scan.findings(in: "postgres://app:postgres@db/app", place: "t").count == 1)
        #expect(scan.findings(in: "PGDATA /var/lib/******ql/data", place: "t").count == 1)
        #expect(scan.findings(in: "image ******:15", place: "t").isEmpty, "a mask next to punctuation says nothing by itself")
        #expect(scan.findings(in: #"{"tail":"line\n******"}"#, place: "t").isEmpty, "the n of a JSON \\n is not a word")
    }
}
