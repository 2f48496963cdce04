import Foundation
import UpshiftCompose
import UpshiftSupport

extension DoctorRules {
    /// Failure mode 5 (checksums): PostgreSQL 18's initdb enables data checksums by default.
    public static func checksums(enabled: Bool?, source: String, targetMajor: Int, imageMajor: Int?, initdbArgs: String?) -> DoctorCheck {
        let id = DoctorCheckID.checksums
        let title = "data checksums"
        guard let enabled else { return DoctorCheck(id, title, .skip, "unknown (\(source))") }
        let state = enabled ? "on" : "off"
        let upgrading = (imageMajor ?? targetMajor) < targetMajor
        let args = initdbArgs ?? ""
        let targetOn = args.contains("--no-data-checksums") ? false : (args.contains("--data-checksums") || args.contains(" -k") || args.hasPrefix("-k")) ? true : targetMajor >= 18
        if upgrading, targetOn != enabled {
            return DoctorCheck(id, title, .warn,
                               "data checksums are \(state) (\(source)); a new PostgreSQL \(targetMajor) cluster gets them \(targetOn ? "on" : "off")\(targetMajor >= 18 && initdbArgs == nil ? " (the 18 initdb default)" : "")",
                               fix: "nothing is needed for pg-upgrade's dump/restore (the new cluster is fresh); to keep them \(state), set POSTGRES_INITDB_ARGS=\(enabled ? "--data-checksums" : "--no-data-checksums") on the db service before upgrading. A pg_upgrade-based tool would refuse the mismatch")
        }
        return DoctorCheck(id, title, .pass, "data checksums are \(state) (\(source))\(upgrading ? "; the new cluster matches" : "")")
    }

    /// Failure mode 5 (encoding/locale): databases restored by the dump keep their own settings, but
    /// `postgres`, `template1` and POSTGRES_DB are created by the new image's initdb defaults.
    public static func encodingLocale(cluster: DoctorClusterFacts?, targetLocale: String?, targetSource: String, initdbArgs: String?, upgrading: Bool) -> DoctorCheck {
        let id = DoctorCheckID.encodingLocale
        let title = "encoding and locale"
        guard let cluster else { return DoctorCheck(id, title, .skip, "the database is not running; start it to read encodings and locales") }
        let providers = ["c": "libc", "i": "icu", "b": "builtin"]
        let groups = Dictionary(grouping: cluster.databases) { db in
            "\(db.encoding) \(db.collate)\(db.ctype == db.collate ? "" : "/\(db.ctype)")\(db.provider.isEmpty || db.provider == "c" ? "" : " \(providers[db.provider] ?? db.provider)")"
        }
        let found = groups.keys.sorted().map { "\($0) (\(groups[$0]!.map(\.name).sorted().joined(separator: ", ")))" }.joined(separator: "; ")
        guard upgrading else { return DoctorCheck(id, title, .pass, found) }
        var differing: [String] = []
        if let args = initdbArgs, args.contains("--locale") || args.contains("--lc-collate") || args.contains("--encoding") || args.contains("-E ") {
            return DoctorCheck(id, title, .pass, found + "; POSTGRES_INITDB_ARGS sets the new cluster's locale/encoding (\(args))")
        }
        for db in cluster.databases {
            if db.encoding.uppercased() != "UTF8" { differing.append("\(db.name) is \(db.encoding)") }
            else if let target = targetLocale, !sameLocale(db.collate, target) || !sameLocale(db.ctype, target) {
                differing.append("\(db.name) is \(db.collate)")
            }
            else if db.provider == "i" || db.provider == "b" { differing.append("\(db.name) uses the \(providers[db.provider] ?? db.provider) provider") }
        }
        if differing.isEmpty {
            return DoctorCheck(id, title, .pass, found + "; the new cluster's default is UTF8 \(targetLocale ?? "?") (\(targetSource))")
        }
        return DoctorCheck(id, title, .warn,
                           found + "; the new image initialises UTF8 \(targetLocale ?? "?") (\(targetSource)), but " + differing.joined(separator: ", "),
                           fix: "databases restored from the dump keep their own encoding and locale; to give the new postgres/template1 the old defaults set POSTGRES_INITDB_ARGS (e.g. \"--encoding=\(cluster.databases.first?.encoding ?? "UTF8") --locale=\(cluster.databases.first { $0.name == "postgres" }?.collate ?? "C")\") on the db service before upgrading")
    }

    /// Whether a dump-method pg-upgrade can keep a replica current while the application writes
    /// (`StageSubscriberStep`): only with `wal_level=logical`, which upshift never sets itself (a restart of
    /// the user's server, their choice). Information, not a warning: without it the window dumps and restores.
    public static func walLevel(cluster: DoctorClusterFacts?, upgrading: Bool, service: String) -> DoctorCheck {
        let id = DoctorCheckID.walLevel
        let title = "downtime while the application writes"
        guard let cluster, let level = cluster.walLevel else { return DoctorCheck(id, title, .skip, "the database is not running; start it to read wal_level") }
        guard upgrading else { return DoctorCheck(id, title, .pass, "wal_level is \(level)") }
        if level == "logical" {
            return DoctorCheck(id, title, .pass, "wal_level is logical: if the application writes before the window, pg-upgrade (dump) keeps a new-major replica current by logical replication, and the window neither dumps nor restores")
        }
        return DoctorCheck(id, title, .info,
                           "wal_level is \(level): if the application writes after pg-upgrade's online snapshot, the window dumps and restores everything (downtime grows with the data)",
                           fix: "to let pg-upgrade keep a replica current instead, start \(service) with wal_level=logical (e.g. `command: [\"postgres\", \"-c\", \"wal_level=logical\"]`) and restart it once, at a time of your choosing; upshift never changes it")
    }

    /// `en_US.utf8` == `en_US.UTF-8`; `C` == `POSIX`.
    static func sameLocale(_ a: String, _ b: String) -> Bool {
        func norm(_ s: String) -> String {
            let lower = s.lowercased().replacingOccurrences(of: "-", with: "")
            return lower == "posix" ? "c" : lower
        }
        return norm(a) == norm(b)
    }

    /// Failure mode 6: a superuser other than `postgres`.
    public static func superuser(database: DatabaseService, cluster: DoctorClusterFacts?) -> DoctorCheck {
        let id = DoctorCheckID.superuser
        let title = "superuser name"
        if let cluster, cluster.bootstrapRole != database.superuser {
            return DoctorCheck(id, title, .warn,
                               "POSTGRES_USER is \(database.superuser) but the cluster's install user (role oid 10) is \(cluster.bootstrapRole)",
                               fix: "set POSTGRES_USER=\(cluster.bootstrapRole) on the db service (the install user cannot be renamed by the image); pg-upgrade connects as POSTGRES_USER")
        }
        if database.superuser == "postgres" {
            return DoctorCheck(id, title, .pass, "superuser is postgres")
        }
        return DoctorCheck(id, title, .pass,
                           "superuser is \(database.superuser) (POSTGRES_USER)\(cluster == nil ? "" : ", the install user"); pg-upgrade initialises the new cluster with the same POSTGRES_USER, so no role \"postgres\" is needed")
    }

    /// Failure mode 7: every installed extension (and preloaded library) must exist in the target image.
    public static func extensions(cluster: DoctorClusterFacts?, available: Result<Set<String>, UpshiftError>?, targetImage: String, upgrading: Bool) -> DoctorCheck {
        let id = DoctorCheckID.extensions
        let title = "extensions available in the target image"
        guard let cluster else { return DoctorCheck(id, title, .skip, "the database is not running; start it to list the installed extensions") }
        let installed = cluster.extensions
        let preload = cluster.sharedPreloadLibraries
        let listed = installed.isEmpty ? "no extensions besides plpgsql" : "installed: \(installed.joined(separator: ", "))"
        let preloadText = preload.isEmpty ? "" : "; shared_preload_libraries: \(preload.joined(separator: ", "))"
        guard upgrading, !installed.isEmpty || !preload.isEmpty else { return DoctorCheck(id, title, .pass, listed + preloadText) }
        switch available {
        case .none:
            return DoctorCheck(id, title, .skip, "\(listed)\(preloadText); \(targetImage) is not in the local image store, so its extensions were not listed (doctor does not pull)",
                               fix: "docker pull \(targetImage), then run doctor again")
        case .failure(let error):
            return DoctorCheck(id, title, .skip, "\(listed); listing the extensions of \(targetImage) failed: \(error.message)")
        case .success(let names):
            let missing = installed.filter { !names.contains($0) }
            if !missing.isEmpty {
                return DoctorCheck(id, title, .fail, "\(listed); missing in \(targetImage): \(missing.joined(separator: ", "))",
                                   fix: "use a PostgreSQL image for the target major that ships them (or drop them first); pg-upgrade refuses otherwise")
            }
            return DoctorCheck(id, title, preload.isEmpty ? .pass : .warn,
                               "\(listed); all available in \(targetImage)\(preloadText)",
                               fix: preload.isEmpty ? nil : "check that the preloaded libraries exist in \(targetImage): a missing one stops the new server from starting")
        }
    }

    /// Failure mode 8: md5 password hashes under a 14+ default of scram-sha-256.
    public static func md5(cluster: DoctorClusterFacts?, targetMajor: Int) -> DoctorCheck {
        let id = DoctorCheckID.md5
        let title = "md5 password hashes"
        guard let cluster else { return DoctorCheck(id, title, .skip, "the database is not running; start it to read pg_authid") }
        guard !cluster.md5Roles.isEmpty else { return DoctorCheck(id, title, .pass, "no role has an md5 password hash") }
        return DoctorCheck(id, title, .warn,
                           "roles with md5 password hashes: \(cluster.md5Roles.joined(separator: ", ")); PostgreSQL 14+ images write `host all all all scram-sha-256` into pg_hba.conf\(targetMajor >= 18 ? " and 18 deprecates md5" : ""), so these logins fail after the upgrade",
                           fix: "re-set each password under scram: SET password_encryption = 'scram-sha-256'; ALTER ROLE <name> PASSWORD '…' (before or after the upgrade)")
    }

    /// Failure mode 9: collation versions recorded by the cluster differ from what the C library provides.
    public static func collation(cluster: DoctorClusterFacts?) -> DoctorCheck {
        let id = DoctorCheckID.collation
        let title = "collation versions"
        guard let cluster else { return DoctorCheck(id, title, .skip, "the database is not running; start it to compare collation versions") }
        guard cluster.serverMajor >= 15 || !cluster.collationMismatches.isEmpty else {
            return DoctorCheck(id, title, .pass, "PostgreSQL \(cluster.serverMajor) records no database collation version; no collation mismatch")
        }
        guard !cluster.collationMismatches.isEmpty else { return DoctorCheck(id, title, .pass, "recorded collation versions match the C library") }
        return DoctorCheck(id, title, .warn, "collation version mismatch: " + cluster.collationMismatches.joined(separator: "; "),
                           fix: "indexes on text may be corrupt: REINDEX DATABASE <db>, then ALTER DATABASE <db> REFRESH COLLATION VERSION (per collation: ALTER COLLATION … REFRESH VERSION)")
    }
}
