import Foundation
import Synchronization
import UpshiftCompose
import UpshiftTestSupport

/// Bringing an upstream project's deployment up as its users do, writing its rows, and taking it down again with
/// everything it left on the engine — the anonymous volumes that postgres images declare included.
enum UpstreamDeployment {
    /// Runs `body` on a fresh copy of `compose/upstream/<folder>`, started with `docker compose up -d` (not
    /// `--wait`: mastodon's healthcheck has the default 30 s interval, Immich's `disable: false` has no test) and
    /// seeded once the real server listens on TCP (the init-time server listens on the socket only). Removes the
    /// project, its anonymous volumes and the image aliases on every exit path.
    static func with(_ project: UpstreamProject, _ body: (E2EDeployment, Leftovers) async throws -> Void) async throws {
        let leftovers = Leftovers()
        do {
            for alias in project.imageAliases { try await E2EEnvironment.dockerChecked(["tag", "postgres:15", alias]) }
            for alias in project.standInAliases { try await E2EEnvironment.dockerChecked(["tag", "inventree/inventree:0.17.0", alias]) }
            try await E2EDeployment.with(sample: "upstream/\(project.folder)", namePrefix: "up-\(project.folder)") { d in
                for (file, from, to) in project.uniqueNames {
                    let text = try d.read(file)
                    guard text.contains(from) else { throw E2EFailure("\(project.folder): \(file) has no \(from.debugDescription)") }
                    try d.write(file, text.replacingOccurrences(of: from, with: to.replacingOccurrences(of: "{project}", with: d.projectName)))
                }
                do {
                    try await d.composeChecked(["up", "-d"], timeout: .seconds(300))
                    try await waitReady(d, project)
                    if let query = project.appReadyQuery {
                        try await E2EPoll.until("the application of \(d.projectName) started", timeout: .seconds(180), interval: .milliseconds(300)) {
                            (try? await psql(d, project, database: project.databases.first, user: nil, query)) == "1"
                        }
                    }
                    let services = try await d.composeChecked(["config", "--services"]).stdout.split(whereSeparator: \.isNewline).map(String.init)
                    try await E2EUpgrade.waitRunning(d, Set(services))
                    await leftovers.record(d, project)
                    for seed in project.seeds { try await psql(d, project, database: seed.database, user: seed.user, seed.sql) }
                    try await body(d, leftovers)
                } catch {
                    await leftovers.record(d, project)
                    throw error
                }
                await leftovers.record(d, project)
            }
        } catch {
            await leftovers.remove(project)
            throw error
        }
        await leftovers.remove(project)
    }

    /// Polls until the database container answers `pg_isready` on 127.0.0.1 (the server after init).
    static func waitReady(_ d: E2EDeployment, _ project: UpstreamProject) async throws {
        try await E2EPoll.until("\(project.dbService) of \(d.projectName) accepting TCP connections", timeout: .seconds(180), interval: .milliseconds(300)) {
            try await d.exec(project.dbService, ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], timeout: .seconds(30)).succeeded
        }
    }

    /// psql in the database container over the socket, as `user` (default: `POSTGRES_USER`, else postgres).
    @discardableResult
    static func psql(_ d: E2EDeployment, _ project: UpstreamProject, database: String?, user: String?, _ sql: String) async throws -> String {
        let script = "U=${1:-${POSTGRES_USER:-postgres}}; exec psql -X -At -v ON_ERROR_STOP=1 -U \"$U\" -d \"${2:-${POSTGRES_DB:-$U}}\" -c \"$3\""
        let out = try await d.exec(project.dbService, ["sh", "-c", script, "psql", user ?? "", database ?? "", sql])
        try out.checked("psql in \(project.dbService) of \(d.projectName): \(sql.prefix(120))")
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The application's own login over TCP with its password, from inside the database container.
    static func appLogin(_ d: E2EDeployment, _ project: UpstreamProject) async throws -> String? {
        guard let login = project.appLogin else { return nil }
        return try await E2EPoll.value("\(login.user) logging in to \(login.database) over TCP", timeout: .seconds(60), interval: .milliseconds(500)) {
            let out = try await d.exec(project.dbService, ["sh", "-c", "exec psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U \"$1\" -d \"$2\" -c \"$3\"", "psql", login.user, login.database, login.query],
                                       environment: ["PGPASSWORD": login.password])
            return out.succeeded ? out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
    }

    /// The docker volume mounted at `destination` in the database container.
    static func anonymousVolume(_ d: E2EDeployment, _ project: UpstreamProject, at destination: String) async throws -> String {
        let id = try await d.containerID(project.dbService)
        let out = try await E2EEnvironment.dockerChecked(["inspect", "--format", "{{json .Mounts}}", id])
        guard let name = ImageVolumeShadow.volumeName(mountsJSON: out.stdout, destination: destination) else {
            throw E2EFailure("\(project.folder): no volume at \(destination) in \(out.stdout)")
        }
        return name
    }

    // MARK: - The way out of paperless-ngx's image VOLUME

    /// Does what pg-upgrade's hint says, with the test's own argv (the hint must name exactly this command):
    /// stop the database, copy the cluster from the anonymous volume to `15/docker` on the project's volume,
    /// set PGDATA there, start it. The data must be the same afterwards.
    static func followImageVolumeWayOut(_ d: E2EDeployment, _ project: UpstreamProject, hint: String, checks: UpstreamChecks) async throws {
        let before = try await UpstreamBaseline.take(d, project)
        let anonymous = try await anonymousVolume(d, project, at: "/var/lib/postgresql/data")
        let volume = "\(d.projectName)_pgdata"
        let image = "docker.io/library/postgres:15"
        let script = "mkdir -p /to/15 && cp -a /from /to/15/docker"
        checks.expect(hint.contains("`docker compose stop \(project.dbService)`"), "hint: \(hint)")
        checks.expect(hint.contains("`docker run --rm -v \(anonymous):/from -v \(volume):/to --entrypoint sh \(image) -c '\(script)'`"), "hint: \(hint)")
        checks.expect(hint.contains("set `PGDATA: /var/lib/postgresql/15/docker` in the environment of \(project.dbService)"), "hint: \(hint)")

        try await d.composeChecked(["stop", project.dbService])
        try await E2EEnvironment.dockerChecked(["run", "--rm", "-v", "\(anonymous):/from", "-v", "\(volume):/to", "--entrypoint", "sh", image, "-c", script])
        let compose = try d.read("docker-compose.yml")
        let anchor = "      POSTGRES_PASSWORD: paperless\n"
        guard compose.contains(anchor) else { throw E2EFailure("\(project.folder): no POSTGRES_PASSWORD line to add PGDATA after") }
        try d.write("docker-compose.yml", compose.replacingOccurrences(of: anchor, with: anchor + "      PGDATA: /var/lib/postgresql/15/docker\n"))
        try await d.composeChecked(["up", "-d", project.dbService])
        try await waitReady(d, project)
        let dataDirectory = try await psql(d, project, database: nil, user: nil, "SHOW data_directory")
        checks.expect(dataDirectory == "/var/lib/postgresql/15/docker", "after the way out the data directory is \(dataDirectory)")
        try await before.expectSameData(d, project, "after moving the cluster onto the volume", checks: checks)
    }

    // MARK: - Cleanup

    /// Anonymous volumes the database containers had (the images' VOLUME): compose hands them from one container
    /// to its replacement only while the mount stays, so the ones of a container replaced by another major are
    /// not removed by `down -v`.
    final class Leftovers: Sendable {
        private let volumes = Mutex<Set<String>>([])

        func record(_ d: E2EDeployment, _ project: UpstreamProject) async {
            guard let ids = try? await d.compose(["ps", "-a", "-q", project.dbService]).stdout.split(whereSeparator: \.isNewline) else { return }
            for id in ids {
                guard let out = try? await E2EEnvironment.docker(["inspect", "--format", "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}", String(id)]) else { continue }
                let anonymous = out.stdout.split(whereSeparator: \.isWhitespace).filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }
                let names = anonymous.map { String($0) }
                volumes.withLock { $0.formUnion(names) }
            }
        }

        /// Removes the recorded volumes (after `down -v`, which removed the containers) and the image aliases.
        func remove(_ project: UpstreamProject) async {
            for volume in volumes.withLock({ $0 }).sorted() { _ = try? await E2EEnvironment.docker(["volume", "rm", "-f", volume]) }
            for alias in project.imageAliases + project.standInAliases { _ = try? await E2EEnvironment.docker(["image", "rm", alias]) }
        }
    }
}
