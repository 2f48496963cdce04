import Foundation
import UpshiftCompose
import UpshiftSupport

/// Read-only SQL through `psql` inside the database container (the socket there trusts local users, as
/// the postgres image sets it up), for preflight facts before upshift has its own libpq route in.
struct PsqlRunner: Sendable {
    var compose: ComposeOperations
    var database: DatabaseService

    func command(_ sql: String, database name: String? = nil) -> Command {
        let env = database.passwordEnvironment
        return compose.execCommand(
            database.service,
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", database.superuser, "-d", ConnInfo.dbname(name ?? database.database), "-c", sql],
            environment: env, timeout: .seconds(120))
    }

    func lines(_ sql: String, database name: String? = nil) async throws -> [String] {
        let result = try await compose.runner.run(command(sql, database: name))
        try result.check(redactor: compose.redactor)
        return result.stdoutText.split(whereSeparator: \.isNewline).map(String.init)
    }

    func scalar(_ sql: String, database name: String? = nil) async throws -> String? {
        try await lines(sql, database: name).first
    }

    /// Connectable databases (templates excluded).
    func databases() async throws -> [String] {
        try await lines("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname", database: "postgres")
    }

    /// Every extension with its version in every connectable database (template1 and `template_postgis`
    /// included: a restore recreates them), except plpgsql which every cluster has.
    /// The databases are read at once (each is a `docker compose exec` of a few hundred milliseconds) and
    /// listed in name order.
    func installedExtensions() async throws -> [InstalledExtension] {
        let names = try await lines("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname", database: "postgres")
        let found = try await withThrowingTaskGroup(of: (String, [String]).self) { group -> [String: [String]] in
            for db in names { group.addTask { (db, try await lines(InstalledExtension.query, database: db)) } }
            var out: [String: [String]] = [:]
            for try await (db, rows) in group { out[db] = rows }
            return out
        }
        return names.flatMap { InstalledExtension.parse(found[$0] ?? [], database: $0) }
    }

    /// Every extension installed in any database, except plpgsql which every cluster has.
    func allExtensions() async throws -> [String] {
        var names = Set<String>()
        for db in try await databases() {
            for name in try await lines("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'", database: db) { names.insert(name) }
        }
        return names.sorted()
    }
}
