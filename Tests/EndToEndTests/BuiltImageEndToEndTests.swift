import Foundation
import Testing
import UpshiftTestSupport

/// Issue 16: a database service with `build: ./db` and `image: postgres:15` (its Dockerfile says
/// `FROM postgres:15`) is refused by `pg-upgrade` before anything changes — exit 64, no run folder, the
/// compose file byte for byte, the same server container still on 15 — with the Dockerfile and the way out
/// named; `doctor` fails the image-line check for the same reason. Then the same for a backup sidecar that
/// is built and would be switched with the database. Without the refusal the upgrade goes through: the tag
/// becomes postgres:18 while the Dockerfile still builds 15.
///
/// Nothing here is ever built: compose runs the existing `postgres:15` image for a service whose image is
/// present, and the Dockerfiles end in `RUN false`, so a build attempted by mistake fails instead of
/// re-tagging a shared fixture image on the test engine.
@Suite(.serialized)
struct BuiltImageEndToEndTests {
    static let password = "built-Db-pw-7"

    static let app = """
          app:
            image: inventree/inventree:0.17.0
            command: ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 2 & wait $$!; done"]
            depends_on: [db]
            stop_grace_period: 2s

        """

    static func compose(dbBuild: Bool, sidecarBuild: Bool) -> String {
        var text = "services:\n" + app + """
              db:

            """
        if dbBuild { text += "    build: ./db\n" }
        text += """
                image: postgres:15
                environment:
                  POSTGRES_USER: app
                  POSTGRES_PASSWORD: \(password)
                volumes:
                  - ./pgdata:/var/lib/postgresql/data
                healthcheck:
                  test: ["CMD-SHELL", "pg_isready -q -h 127.0.0.1 -U app"]
                  interval: 1s
                  timeout: 5s
                  retries: 60
                stop_signal: SIGINT

            """
        if sidecarBuild {
            text += """
                  backup:
                    build:
                      dockerfile_inline: |
                        FROM postgres:15
                        RUN false
                    image: postgres:15
                    command: ["sh", "-c", "while :; do pg_dump -h db -U app app > /dev/null; sleep 3600; done"]
                    environment:
                      PGPASSWORD: \(password)

                """
        }
        return text
    }

    @Test(.enabled(if: E2EEnvironment.canRunUpshiftEndToEnd, "\(E2EEnvironment.skipReason)"))
    func builtDatabaseAndBuiltSidecarAreRefusedBeforeAnythingChanges() async throws {
        let start = ContinuousClock.now
        let dockerfile = "FROM postgres:15\n# what a real one adds (extensions, configuration); never built by this test\nRUN false\n"
        let files = ["docker-compose.yml": Self.compose(dbBuild: true, sidecarBuild: false), "db/Dockerfile": dockerfile]
        try await E2EDeployment.with(files: files, namePrefix: "built-db") { d in
            try await d.up()
            let container = try await d.containerID("db")
            let dockerfilePath = d.path + "/db/Dockerfile"

            for args in [["pg-upgrade", "--to", "18", "--yes"], ["pg-upgrade", "--to", "18", "--dry-run"]] {
                let composeBefore = try d.read("docker-compose.yml")
                let refused = try await d.upshift(args)
                #expect(refused.exitCode == 64, "\(args): \(refused)")
                #expect(refused.stderr.contains("service db is built from \(dockerfilePath) (`FROM postgres:15`)"), "\(refused.stderr)")
                #expect(refused.stderr.contains("only names the result of `build:`") && refused.stderr.contains("change the FROM line in \(dockerfilePath) to postgres:18"), "\(refused.stderr)")
                #expect(refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
                #expect(!(refused.stdout + refused.stderr).contains(Self.password))
                #expect(try d.read("docker-compose.yml") == composeBefore)
                #expect(try d.read("db/Dockerfile") == dockerfile)
            }
            #expect(E2EUpgrade.runIDs(d).isEmpty, "a refused run left a run folder")
            #expect(try await d.containerID("db") == container, "the database container was recreated")
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)

            // doctor says the same, as a failed check.
            let doctor = try await d.upshift(["doctor", "--to", "18"])
            #expect(doctor.stdout.contains("service db is built from \(dockerfilePath)"), "\(doctor)")

            // A built sidecar that pg-upgrade would switch with the database is refused just the same.
            try d.write("docker-compose.yml", Self.compose(dbBuild: false, sidecarBuild: true))
            let sidecarCompose = try d.read("docker-compose.yml")
            let sidecar = try await d.upshift(["pg-upgrade", "--to", "18", "--yes"])
            #expect(sidecar.exitCode == 64, "\(sidecar)")
            #expect(sidecar.stderr.contains("sidecar backup is built from an inline Dockerfile (dockerfile_inline) (`FROM postgres:15`)"), "\(sidecar.stderr)")
            #expect(sidecar.stderr.contains("remove `build:` from backup"), "\(sidecar.stderr)")
            #expect(try d.read("docker-compose.yml") == sidecarCompose)
            #expect(E2EUpgrade.runIDs(d).isEmpty)
            #expect(try await d.containerID("db") == container)
            #expect(try await E2EUpgrade.serverMajor(d, service: "db") == 15)
        }
        print("BuiltImageEndToEndTests wall time: \(ContinuousClock.now - start)")
    }
}
