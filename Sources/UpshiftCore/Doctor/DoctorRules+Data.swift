import Foundation
import UpshiftCompose
import UpshiftSupport

/// The judgements of `upshift doctor`, as pure functions of facts gathered elsewhere, so each rule is
/// unit-testable without docker. Every failure mode of the reference survey that can be detected has one
/// rule here; their ids are listed in `DoctorCheckID`.
public enum DoctorRules {}

/// The check identifiers, in report order.
public enum DoctorCheckID {
    public static let compose = "compose"
    public static let engine = "engine"
    public static let dbService = "db-service"
    public static let pendingRollback = "pending-rollback"
    public static let major = "major"
    public static let dataMount = "data-mount"
    public static let layout = "pg18-layout"
    public static let owner = "data-owner"
    public static let shutdown = "shutdown-state"
    public static let diskSpace = "disk-space"
    public static let linkSwap = "link-swap"
    public static let checksums = "checksums"
    public static let encodingLocale = "encoding-locale"
    public static let superuser = "superuser"
    public static let extensions = "extensions"
    public static let md5 = "md5-passwords"
    public static let collation = "collation-versions"
    public static let imageLine = "image-line"
    public static let targetImage = "target-image"
    public static let interference = "interfering-services"
    public static let appClient = "app-client"
    public static let appImageLine = "app-image-line"
    public static let walLevel = "wal-level"
}

extension DoctorRules {
    /// Failure mode 1: the tag was bumped without migrating the data (or the other way round).
    public static func major(database: DatabaseService, probe: DataProbe?, probeError: String?, targetMajor: Int) -> DoctorCheck {
        let title = "image major vs data on disk"
        let id = DoctorCheckID.major
        guard let imageMajor = database.imageMajor else {
            if database.image.digest != nil {
                return DoctorCheck(id, title, .fail, "\(database.imageText) is pinned by digest: upshift cannot tell its major or change it",
                                   fix: "pin a tag instead, e.g. postgres:15")
            }
            return DoctorCheck(id, title, .fail, "the tag of \(database.imageText) names no PostgreSQL major (a moving tag such as latest upgrades by surprise)",
                               fix: "pin the major the data was made with, e.g. \(database.image.withTag("15"))")
        }
        if database.image.digest != nil {
            return DoctorCheck(id, title, .fail, "\(database.imageText) is pinned by digest: changing the tag would not change the image",
                               fix: "remove the @sha256:… part and keep the tag")
        }
        guard let probe else {
            return DoctorCheck(id, title, .skip, "image \(database.imageText) is PostgreSQL \(imageMajor); the data could not be read: \(probeError ?? "unknown error")")
        }
        guard let diskMajor = probe.major else {
            switch probe {
            case .notPersistent:
                return DoctorCheck(id, title, .skip, "image is PostgreSQL \(imageMajor); the data is not on a persistent mount (see data-mount)")
            default:
                return DoctorCheck(id, title, .warn, "image is PostgreSQL \(imageMajor) but no cluster was found: \(probe.summary)",
                                   fix: "start the stack once so the database is initialised, or check PGDATA and the mount")
            }
        }
        if imageMajor > diskMajor {
            return DoctorCheck(id, title, .fail,
                               "image \(database.imageText) is PostgreSQL \(imageMajor) but the data on disk is PostgreSQL \(diskMajor): the tag was bumped without migrating the data; the server refuses to start",
                               fix: "set the image back to \(database.image.withMajor(diskMajor)), start it, then run `upshift pg-upgrade --to \(imageMajor)`")
        }
        if imageMajor < diskMajor {
            return DoctorCheck(id, title, .fail,
                               "image \(database.imageText) is PostgreSQL \(imageMajor) but the data on disk is PostgreSQL \(diskMajor): an older server cannot read it",
                               fix: "set the image back to \(database.image.withMajor(diskMajor)); if a rollback was intended, use `upshift rollback`")
        }
        let upgrade = targetMajor > imageMajor ? "; pg-upgrade --to \(targetMajor) applies" : " (already at or past --to \(targetMajor); the upgrade checks below are informational)"
        return DoctorCheck(id, title, .pass, "image and data are both PostgreSQL \(imageMajor) (PG_VERSION \(probeVersion(probe)))\(upgrade)")
    }

    static func probeVersion(_ probe: DataProbe) -> String {
        if case .cluster(_, let version) = probe { return version }
        return "?"
    }

    /// Failure mode 2 (second half): the data must survive `docker compose down` and a recreate.
    public static func dataMount(database: DatabaseService) -> DoctorCheck {
        let title = "data on a persistent mount"
        let location = database.legacyLayoutLocation ?? database.dataLocation
        if location.isPersistent {
            return DoctorCheck(DoctorCheckID.dataMount, title, .pass, "PGDATA \(location.pgdata) is on \(location.summary)")
        }
        return DoctorCheck(DoctorCheckID.dataMount, title, .fail, "PGDATA \(location.pgdata): \(location.summary)",
                           fix: "mount a named volume or a host directory at \(location.mountTarget ?? location.pgdata) (stop the stack, copy the data out of the container first); upshift will not move data it cannot keep")
    }

    /// Failure mode 2: the PostgreSQL 18 layout (PGDATA `/var/lib/postgresql/18/docker`, mount at
    /// `/var/lib/postgresql`). Says where pg-upgrade will put the new cluster.
    public static func layout(database: DatabaseService, targetMajor: Int, placement: Result<DataPlacement, UpshiftError>?, existingPaths: [String]) -> DoctorCheck {
        let id = DoctorCheckID.layout
        let title = "PGDATA layout and where the new cluster goes"
        if let legacy = database.legacyLayoutLocation {
            return DoctorCheck(id, title, .fail,
                               "the image is PostgreSQL \(database.imageMajor.map(String.init) ?? "18+") with the default PGDATA \(database.pgdata), but the data is mounted the pre-18 way at /var/lib/postgresql/data (\(legacy.summary)); the 18 entrypoint refuses to start on it",
                               fix: "set the image back to the major of the data, or pin PGDATA=/var/lib/postgresql/data in the service environment")
        }
        guard let imageMajor = database.imageMajor, targetMajor > imageMajor else {
            return DoctorCheck(id, title, .info, "PGDATA \(database.pgdata)\(database.pgdataIsExplicit ? " (set in environment)" : " (image default)"); no upgrade to plan")
        }
        guard let placement else {
            return DoctorCheck(id, title, .skip, "placement not computed")
        }
        switch placement {
        case .failure(let error):
            return DoctorCheck(id, title, .fail, error.message, fix: error.hint)
        case .success(let placement):
            if !existingPaths.isEmpty {
                return DoctorCheck(id, title, .fail,
                                   "\(existingPaths.joined(separator: ", ")) already exists in \(DataPlacement.describe(placement.mount)); pg-upgrade will not overwrite it",
                                   fix: "rename or remove it by hand after checking what it holds")
            }
            var found = "PGDATA \(database.pgdata)\(database.pgdataIsExplicit ? " (set in environment)" : " (image default)"); pg-upgrade --to \(targetMajor): \(placement.summary)"
            let edit = placement.pgdataEdit(database: database, targetMajor: targetMajor)
            if targetMajor >= 18, !database.pgdataIsExplicit, database.pgdata == "/var/lib/postgresql/data" {
                found += ". PostgreSQL 18 images default to PGDATA /var/lib/postgresql/18/docker"
                    + (edit != nil ? ", which is outside this mount: pg-upgrade pins PGDATA=\(placement.newPGDATA) in the compose file so the data stays on it" : "")
            } else if let edit {
                found += "; pg-upgrade will \(edit.summary) in the compose file"
            }
            return DoctorCheck(id, title, .pass, found)
        }
    }

    /// Failure mode 10: the owner of PGDATA should be the image's postgres uid.
    public static func owner(ownership: FileOwnership?, expectedUID: Int?, uidSource: String, pgdata: String) -> DoctorCheck {
        let id = DoctorCheckID.owner
        let title = "data owner uid"
        guard let ownership else { return DoctorCheck(id, title, .skip, "PGDATA \(pgdata) does not exist yet") }
        let mode = String(ownership.mode, radix: 8)
        guard let expectedUID else {
            return DoctorCheck(id, title, .info, "PGDATA is owned by uid \(ownership.uid) gid \(ownership.gid), mode \(mode); the image's postgres uid is unknown")
        }
        if ownership.uid != expectedUID {
            return DoctorCheck(id, title, .warn,
                               "PGDATA is owned by uid \(ownership.uid) but the postgres user of \(uidSource) is uid \(expectedUID) (999 in Debian images, 70 in Alpine ones); a Debian<->Alpine switch or a copy made as another user",
                               fix: "keep the image variant the data was made with; to fix the owner: docker compose run --rm --no-deps --user root --entrypoint chown <db> -R \(expectedUID):\(expectedUID) \(pgdata)")
        }
        if ownership.mode & 0o027 != 0 {
            return DoctorCheck(id, title, .warn, "PGDATA is owned by uid \(ownership.uid) but its mode is \(mode); PostgreSQL refuses group/other write access",
                               fix: "chmod 0700 the data directory")
        }
        return DoctorCheck(id, title, .pass, "PGDATA is owned by uid \(ownership.uid) (postgres in \(uidSource)), mode \(mode)")
    }

    /// Failure mode 4: a cluster that was killed leaves "in production" in pg_control (and a stale
    /// postmaster.pid).
    public static func shutdown(running: Bool, control: DoctorControlData?, controlError: String?) -> DoctorCheck {
        let id = DoctorCheckID.shutdown
        let title = "clean shutdown state"
        if running {
            return DoctorCheck(id, title, .pass,
                               "the database is running; pg-upgrade dumps it while it runs and stops it with a long timeout (stop -t 120), so no unclean shutdown is involved")
        }
        guard let control else {
            return DoctorCheck(id, title, .skip, "pg_controldata could not be read: \(controlError ?? "unknown")")
        }
        if control.isCleanlyShutDown && !control.stalePidFile {
            return DoctorCheck(id, title, .pass, "the database is stopped and pg_controldata says \"shut down\"")
        }
        var found = "the database is stopped but pg_controldata says \"\(control.state ?? "unknown")\""
        if control.stalePidFile { found += " and postmaster.pid was left behind" }
        found += ": it was not shut down cleanly (killed, or stopped with too short a timeout)"
        return DoctorCheck(id, title, .warn, found,
                           fix: "start the database once so it recovers, then stop it with a long timeout (docker compose stop -t 120 <db>); pg-upgrade starts it for the dump, which also recovers it")
    }

    /// Failure mode 3: room for the dump and for the new cluster next to the old one.
    public static func diskSpace(databaseBytes: Int64?, sizeSource: String, dataFree: Int64?, dataPlace: String, backupFree: Int64?, backupDirectory: String) -> DoctorCheck {
        let id = DoctorCheckID.diskSpace
        let title = "disk space for the dump and the new cluster"
        guard let bytes = databaseBytes else {
            return DoctorCheck(id, title, .skip, "the size of the databases is unknown (\(sizeSource))")
        }
        let need = bytes + bytes / 10 + (64 << 20)
        var problems: [String] = []
        var facts: [String] = ["databases \(ByteFormat.string(bytes)) (\(sizeSource)), need \(ByteFormat.string(need)) on each side"]
        if let dataFree {
            facts.append("\(ByteFormat.string(dataFree)) free in \(dataPlace)")
            if dataFree < need { problems.append("the new cluster needs \(ByteFormat.string(need)) in \(dataPlace) but only \(ByteFormat.string(dataFree)) is free") }
        } else {
            facts.append("free space in \(dataPlace) unknown")
        }
        if let backupFree {
            facts.append("\(ByteFormat.string(backupFree)) free for the dump in \(backupDirectory)")
            if backupFree < need { problems.append("the dump needs \(ByteFormat.string(need)) in \(backupDirectory) but only \(ByteFormat.string(backupFree)) is free") }
        }
        if !problems.isEmpty {
            return DoctorCheck(id, title, .fail, problems.joined(separator: "; "),
                               fix: "free some space there, or put the dump elsewhere with pg-upgrade --backup-dir DIR")
        }
        return DoctorCheck(id, title, dataFree == nil ? .warn : .pass, facts.joined(separator: "; "))
    }

    /// Failure mode 11: link/swap transfer modes need one filesystem and are irreversible. upshift's only
    /// method is dump/restore; the old cluster is renamed in place (a rename, never a copy).
    public static func linkSwap(placement: DataPlacement?) -> DoctorCheck {
        let title = "link/swap across filesystems"
        switch placement {
        case .moveAside(let mount, _, _, _, _)?:
            return DoctorCheck(DoctorCheckID.linkSwap, title, .pass,
                               "the old and new clusters share \(DataPlacement.describe(mount)), one filesystem: `--method pg_upgrade --mode link` or `--mode swap` (18+) can work without copying; --mode clone needs a reflink filesystem (XFS, Btrfs), which pg_upgrade --check verifies")
        case .pinSubdirectory(let mount, _, _)?:
            return DoctorCheck(DoctorCheckID.linkSwap, title, .info,
                               "PGDATA is the root of \(DataPlacement.describe(mount)): the dump method and `--method pg_upgrade --mode copy` work; --mode link and swap are refused, because the old cluster could not be rebuilt in place if the run were undone",
                               fix: "move the data into a sub-directory of the volume (set PGDATA) to allow link/swap")
        case nil:
            return DoctorCheck(DoctorCheckID.linkSwap, title, .info, "unknown until the data placement is known")
        }
    }
}
