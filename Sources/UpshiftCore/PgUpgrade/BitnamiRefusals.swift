import Foundation
import UpshiftCompose
import UpshiftSupport

/// What a Bitnami deployment cannot go through, said before anything changes.
///
/// - Its superuser is `postgres`, whose password exists only when `POSTGRESQL_POSTGRES_PASSWORD` was set at the
///   first start (or the configured user *is* postgres). With an application password set, every pg_hba line is
///   md5, the socket included, so without a postgres password no superuser session exists — and a whole-cluster
///   dump needs one (`pg_dumpall` as the application user stops at `pg_authid`).
/// - pg_upgrade: the cluster's configuration lives outside the data directory (`/opt/bitnami/postgresql/conf`,
///   rewritten on every start) and uid 1001 has no passwd entry, which pg_upgrade requires.
enum BitnamiRefusals {
    static func check(database: DatabaseService, service: ComposeService, method: UpgradeMethod) throws {
        func set(_ names: String...) -> Bool { names.contains { service.environmentValue($0).map { !$0.isEmpty } ?? false } }
        let applicationPassword = set("POSTGRESQL_PASSWORD", "POSTGRES_PASSWORD", "POSTGRESQL_PASSWORD_FILE", "POSTGRES_PASSWORD_FILE")
        if database.passwordSource == .none, applicationPassword {
            throw UpshiftError.usage(
                "service \(database.service) (\(database.imageText)): the superuser postgres has no password (POSTGRESQL_POSTGRES_PASSWORD is not set), and Bitnami's pg_hba.conf asks every connection for one",
                hint: "give postgres a password from a superuser session and set POSTGRESQL_POSTGRES_PASSWORD to it in the compose file (Bitnami sets it only at the first start), then run again; nothing was changed")
        }
        if method == .pgUpgrade {
            throw UpshiftError.usage(
                "--method pg_upgrade cannot upgrade a Bitnami cluster (\(database.imageText)): its configuration lives outside the data directory and its uid 1001 has no passwd entry, which pg_upgrade needs",
                hint: "use --method dump (the default); nothing was changed")
        }
    }
}
