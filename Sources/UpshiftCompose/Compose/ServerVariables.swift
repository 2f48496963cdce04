import Foundation

/// The superuser, database and password as the image family reads them from the service's environment.
///
/// The official image and the ones built on it read `POSTGRES_USER`/`POSTGRES_PASSWORD`/`POSTGRES_DB`; Bitnami
/// reads `POSTGRESQL_*` (and accepts the `POSTGRES_*` names as aliases), and there the configured user is only
/// the owner of its database: the superuser is always `postgres`, whose password is
/// `POSTGRESQL_POSTGRES_PASSWORD` unless the configured user *is* `postgres`. upshift needs the superuser.
struct ServerVariables {
    var superuser: String
    var database: String
    /// The superuser's password from the environment (`nil` when unset or empty).
    var password: String?
    /// The container path of the superuser's password file (`nil` when unset).
    var passwordFile: String?
    /// The variable that named `passwordFile`, for messages.
    var passwordFileName: String

    init(family: PostgresImageFamily, service: ComposeService) {
        func value(_ names: String...) -> String? {
            for name in names { if let v = service.environmentValue(name), !v.isEmpty { return v } }
            return nil
        }
        switch family {
        case .bitnami:
            let user = value("POSTGRESQL_USERNAME", "POSTGRES_USER") ?? "postgres"
            superuser = "postgres"
            database = value("POSTGRESQL_DATABASE", "POSTGRES_DB") ?? "postgres"
            if user == "postgres" {
                password = value("POSTGRESQL_PASSWORD", "POSTGRES_PASSWORD")
                passwordFileName = service.environmentValue("POSTGRESQL_PASSWORD_FILE").map { _ in "POSTGRESQL_PASSWORD_FILE" } ?? "POSTGRES_PASSWORD_FILE"
                passwordFile = value("POSTGRESQL_PASSWORD_FILE", "POSTGRES_PASSWORD_FILE")
            } else {
                password = value("POSTGRESQL_POSTGRES_PASSWORD", "POSTGRES_POSTGRES_PASSWORD")
                passwordFileName = service.environmentValue("POSTGRESQL_POSTGRES_PASSWORD_FILE").map { _ in "POSTGRESQL_POSTGRES_PASSWORD_FILE" } ?? "POSTGRES_POSTGRES_PASSWORD_FILE"
                passwordFile = value("POSTGRESQL_POSTGRES_PASSWORD_FILE", "POSTGRES_POSTGRES_PASSWORD_FILE")
            }
        case .official, .postgis, .pgvector, .timescaledb, .timescaledbHA, .custom:
            superuser = value("POSTGRES_USER") ?? "postgres"
            database = value("POSTGRES_DB") ?? superuser
            password = value("POSTGRES_PASSWORD")
            passwordFile = value("POSTGRES_PASSWORD_FILE")
            passwordFileName = "POSTGRES_PASSWORD_FILE"
        }
    }
}
