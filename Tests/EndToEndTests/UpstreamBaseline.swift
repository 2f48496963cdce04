import Foundation
import UpshiftPostgres
import UpshiftTestSupport

/// An upstream deployment's state before upshift touches it, to compare with after an upgrade, a rollback or a
/// refusal: its own files byte for byte, the test's libpq fingerprint of every database, psql row counts and row
/// hashes of the application's databases, and the application's own login.
struct UpstreamBaseline {
    var files: [String: Data]
    var fingerprint: Fingerprint
    var tables: [String: String]
    var appLogin: String?

    static func take(_ d: E2EDeployment, _ project: UpstreamProject) async throws -> UpstreamBaseline {
        UpstreamBaseline(files: try files(d), fingerprint: try await fingerprint(d, project), tables: try await tables(d, project),
                         appLogin: try await UpstreamDeployment.appLogin(d, project))
    }

    /// The deployment folder's own regular files (compose file, `.env`, env files, scripts, secrets); the data
    /// folders, backups and `.upshift/` are not the user's configuration.
    static func files(_ d: E2EDeployment) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: d.path) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d.path + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files[name] = try Data(contentsOf: d.url(name))
        }
        return files
    }

    static func fingerprint(_ d: E2EDeployment, _ project: UpstreamProject) async throws -> Fingerprint {
        try await E2EUpgrade.fingerprint(d, service: project.dbService, user: project.superuser, password: project.password)
    }

    /// `database: counts \n hashes` for each of the project's databases.
    static func tables(_ d: E2EDeployment, _ project: UpstreamProject) async throws -> [String: String] {
        var tables: [String: String] = [:]
        for database in project.databases {
            let counts = try await E2EUpgrade.tableCounts(d, service: project.dbService, database: database)
            let hashes = try await E2EUpgrade.tableHashes(d, service: project.dbService, database: database)
            tables[database] = counts + "\n" + hashes
        }
        return tables
    }

    /// The same rows in every table (fingerprint, counts, hashes) and the same answer to the application's login.
    func expectSameData(_ d: E2EDeployment, _ project: UpstreamProject, _ when: String, checks: UpstreamChecks) async throws {
        let now = try await Self.fingerprint(d, project)
        checks.expect(E2EUpgrade.dataDiff(fingerprint, now).isEmpty, "\(when): \(E2EUpgrade.dataDiff(fingerprint, now).prefix(5))")
        checks.expect(E2EUpgrade.tableContent(fingerprint) == E2EUpgrade.tableContent(now), "\(when): table content differs")
        let tablesNow = try await Self.tables(d, project)
        checks.expect(tablesNow == tables, "\(when): psql row counts or hashes differ: \(tablesNow) vs \(tables)")
        let login = try await UpstreamDeployment.appLogin(d, project)
        checks.expect(login == appLogin, "\(when): the application's login answers \(login ?? "nothing"), before \(appLogin ?? "nothing")")
    }

    /// Nothing changed: files, no run folder, PostgreSQL 15 with the same data.
    func expectUntouched(_ d: E2EDeployment, _ project: UpstreamProject, checks: UpstreamChecks) async throws {
        checks.expect(try Self.files(d) == files, "a file changed although upshift refused")
        checks.expect(E2EUpgrade.runIDs(d).isEmpty, "runs \(E2EUpgrade.runIDs(d)) although upshift refused")
        checks.expect(try await E2EUpgrade.serverMajor(d, service: project.dbService) == 15, "not on PostgreSQL 15 after the refusal")
        try await expectSameData(d, project, "after the refusal", checks: checks)
    }
}
