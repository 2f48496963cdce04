import Foundation
import UpshiftPostgres
import UpshiftSupport
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free port, stop and delete.
///
/// Majors: Debian's 15 (`/usr/lib/postgresql/15/bin`) and the wheel builds 16 and 18 under
/// `${UPSHIFT_TESTENV:-/var/tmp/upshift-testenv}/pg16inst/bin` and `/pg18inst/bin`. Postgres refuses to run
/// as root, so when the tests run as uid 0 every server-side tool runs as the `postgres` OS user through
/// `runuser -u postgres --`. The cluster listens on 127.0.0.1 (scram-sha-256 with `password`) and on a
/// Unix socket in a short /tmp path (trust).
public final class LocalPostgres: Sendable {
    public let major: Int
    public let binDirectory: String
    public let root: String
    public let port: Int
    public let superuser = "postgres"
    public let password: String
    public var dataDirectory: String { root + "/data" }
    public var socketDirectory: String { root + "/sock" }
    public var logFile: String { root + "/server.log" }

    private init(major: Int, binDirectory: String, root: String, port: Int, password: String) {
        self.major = major
        self.binDirectory = binDirectory
        self.root = root
        self.port = port
        self.password = password
    }

    // MARK: - Availability

    public static var testEnvironment: String {
        ProcessInfo.processInfo.environment["UPSHIFT_TESTENV"] ?? "/var/tmp/upshift-testenv"
    }

    /// Where the binaries of `major` live in this test environment.
    public static func binDirectory(major: Int) -> String {
        switch major {
        case 15: return "/usr/lib/postgresql/15/bin"
        default: return "\(testEnvironment)/pg\(major)inst/bin"
        }
    }

    /// True when initdb, pg_ctl and postgres of `major` are present.
    public static func isAvailable(_ major: Int) -> Bool {
        let dir = binDirectory(major: major)
        return ["initdb", "pg_ctl", "postgres", "psql"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(dir)/\($0)") }
    }

    /// The reason a test of `major` is skipped, for `.enabled(if:_:)`.
    public static func unavailableReason(_ major: Int) -> String {
        "PostgreSQL \(major) binaries absent at \(binDirectory(major: major)) (run compose/testenv/up, or apt-get install postgresql-\(major) for 15)"
    }

    static var runsAsRoot: Bool { getuid() == 0 }

    // MARK: - Lifecycle

    /// Creates and starts a cluster; `body` runs with it; the cluster is stopped and deleted on every path.
    public static func with<T: Sendable>(
        major: Int,
        initdbArguments: [String] = [],
        password: String? = nil,
        _ body: (LocalPostgres) async throws -> T
    ) async throws -> T {
        let pg = try await start(major: major, initdbArguments: initdbArguments, password: password)
        do {
            let result = try await body(pg)
            await pg.destroy()
            return result
        } catch {
            await pg.destroy()
            throw error
        }
    }

    /// Creates and starts a cluster. Call `destroy()` when done (prefer `with`). The superuser password is
    /// random unless given (a restore of `pg_dumpall` output replaces it with the dumped cluster's hash).
    public static func start(major: Int, initdbArguments: [String] = [], password: String? = nil) async throws -> LocalPostgres {
        guard isAvailable(major) else { throw UpshiftError.unavailable("\(unavailableReason(major))") }
        let runner = LiveCommandRunner()
        let root = "/tmp/upg\(major)-" + String(UUID().uuidString.prefix(8)).lowercased()
        let password = password ?? "pw-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/sock", withIntermediateDirectories: true)
        if runsAsRoot { try await runner.check(Command("chown", ["-R", "postgres:postgres", root])) }

        do {
            // The password reaches initdb through a 0600 file, never argv; the file is removed right after.
            let pwfile = root + "/pwfile"
            _ = FileManager.default.createFile(atPath: pwfile, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
            if runsAsRoot { try await runner.check(Command("chown", ["postgres:postgres", pwfile])) }
            let bin = binDirectory(major: major)
            let initdb = asPostgres(bin + "/initdb", [
                "-D", root + "/data", "-U", "postgres", "--pwfile=" + pwfile,
                "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
            ] + initdbArguments)
            let initResult = try await runner.run(initdb)
            try? FileManager.default.removeItem(atPath: pwfile)
            try initResult.check(redactor: Redactor(secrets: [password]))

            var lastError: Error?
            for _ in 0..<5 {
                let port = try freePort()
                let conf = """

                    port = \(port)
                    listen_addresses = '127.0.0.1'
                    unix_socket_directories = '\(root)/sock'
                    fsync = off
                    password_encryption = 'scram-sha-256'

                    """
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/data/postgresql.conf"))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(conf.utf8))
                try handle.close()
                let result = try await runner.run(asPostgres(bin + "/pg_ctl", ["-D", root + "/data", "-l", root + "/server.log", "-w", "-t", "60", "start"]))
                if result.termination.isSuccess {
                    return LocalPostgres(major: major, binDirectory: bin, root: root, port: port, password: password)
                }
                lastError = CommandFailure(result: result)
            }
            throw lastError ?? UpshiftError("could not start PostgreSQL \(major)")
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    /// Stops the server (fast shutdown) and deletes the cluster directory.
    public func destroy() async {
        let runner = LiveCommandRunner()
        _ = try? await runner.run(Self.asPostgres(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"]))
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: - Connecting

    /// TCP with the scram password.
    public func parameters(database: String = "postgres", user: String? = nil, password: String? = nil) -> ConnectionParameters {
        ConnectionParameters(host: "127.0.0.1", port: port, user: user ?? superuser, password: password ?? self.password, database: database, connectTimeout: 5)
    }

    /// The Unix socket (trust), no password.
    public func socketParameters(database: String = "postgres") -> ConnectionParameters {
        ConnectionParameters(host: socketDirectory, port: port, user: superuser, password: nil, database: database, connectTimeout: 5)
    }

    public func connect(database: String = "postgres") throws -> Connection {
        try Connection(parameters(database: database))
    }

    /// A client tool of this major (psql, pg_dump, ...) against this server over TCP; the password is passed
    /// in `PGPASSWORD`, never in argv.
    public func clientCommand(_ tool: String, _ arguments: [String], database: String = "postgres") -> Command {
        Command(binDirectory + "/" + tool, ["-h", "127.0.0.1", "-p", String(port), "-U", superuser] + arguments,
                environment: ["PGPASSWORD": password, "PGDATABASE": database, "PGCONNECT_TIMEOUT": "5"])
    }

    // MARK: - Helpers

    static func asPostgres(_ executable: String, _ arguments: [String]) -> Command {
        if runsAsRoot {
            return Command("runuser", ["-u", "postgres", "--", executable] + arguments, unsetEnvironment: ["PGPASSWORD"], workingDirectory: "/tmp")
        }
        return Command(executable, arguments, workingDirectory: "/tmp")
    }

    /// A TCP port free right now on 127.0.0.1 (the kernel picks it; a small race with other binders remains,
    /// hence the retry loop in `start`).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UpshiftError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw UpshiftError("bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
