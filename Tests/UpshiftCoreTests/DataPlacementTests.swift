import Foundation
import Testing
import UpshiftCompose
import UpshiftCore
import UpshiftPlans
import UpshiftSupport

/// Where the old cluster goes and what PGDATA the new one gets, for every layout people run (issue 15).
struct DataPlacementTests {
    let run = RunID("20261205-000000-abcd")!

    func database(_ image: String = "postgres:15", pgdata: String? = nil, mounts: [ComposeServiceVolume]) throws -> DatabaseService {
        var environment: [String: String?] = ["POSTGRES_PASSWORD": "pw"]
        if let pgdata { environment["PGDATA"] = pgdata }
        let config = ComposeConfig(
            name: "proj", services: ["db": ComposeService(image: image, environment: environment, volumes: mounts)],
            volumes: ["pg": ComposeTopLevelVolume(name: "proj_pg")])
        return try DatabaseService.select(from: config)
    }

    @Test func bindAtPGDATARenamesInItsParentAndPinsPGDATAFor18() throws {
        let db = try database(mounts: [ComposeServiceVolume(type: .bind, source: "/srv/app/postgres", target: "/var/lib/postgresql/data")])
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run)
        guard case .moveAside(let mount, let name, let aside, let newName, let pgdata) = placement else {
            Issue.record("\(placement)"); return
        }
        #expect(mount.hostPath == "/srv/app" && name == "postgres" && newName == "postgres")
        #expect(aside == "postgres.pg15-\(run.rawValue)")
        #expect(pgdata == "/var/lib/postgresql/data")
        #expect(placement.newRelativePath == "postgres", "never an empty path")
        #expect(placement.pgdataEdit(database: db, targetMajor: 18) == .add("/var/lib/postgresql/data"))
        // 16 keeps the pre-18 default: nothing to pin.
        let to16 = try DataPlacement.choose(database: db, targetMajor: 16, oldMajor: 15, runID: run)
        #expect(to16.pgdataEdit(database: db, targetMajor: 16) == nil)
    }

    @Test func bindAtPGDATAThatIsAMountPointStaysInPlace() throws {
        let db = try database(mounts: [ComposeServiceVolume(type: .bind, source: "/mnt/pgdisk", target: "/var/lib/postgresql/data")])
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run, bindRootIsMountPoint: true)
        #expect(placement == .pinSubdirectory(mount: db.dataLocation, newName: "pg18", newPGDATA: "/var/lib/postgresql/data/pg18"))
        #expect(placement.pgdataEdit(database: db, targetMajor: 18) == .add("/var/lib/postgresql/data/pg18"))
    }

    @Test func namedVolumeAtPGDATAPinsASubdirectory() throws {
        let db = try database(mounts: [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql/data")])
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run)
        #expect(placement.newRelativePath == "pg18" && placement.pinsPGDATA)
        #expect(placement.pgdataEdit(database: db, targetMajor: 18) == .add("/var/lib/postgresql/data/pg18"))
    }

    @Test func volumeAtAnExplicitPGDATAChangesTheValue() throws {
        // odoo: odoo-db-data:/var/lib/postgresql/data/pgdata with PGDATA=/var/lib/postgresql/data/pgdata
        let db = try database(pgdata: "/var/lib/postgresql/data/pgdata", mounts: [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql/data/pgdata")])
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run)
        #expect(placement == .pinSubdirectory(mount: db.dataLocation, newName: "pg18", newPGDATA: "/var/lib/postgresql/data/pgdata/pg18"))
        #expect(placement.pgdataEdit(database: db, targetMajor: 18) == .replace(old: "/var/lib/postgresql/data/pgdata", new: "/var/lib/postgresql/data/pgdata/pg18"))
    }

    @Test func subdirectoryOfItsMountKeepsItsName() throws {
        let db = try database(pgdata: "/var/lib/postgresql/data/pgdb", mounts: [ComposeServiceVolume(type: .bind, source: "/srv/inv/data", target: "/var/lib/postgresql/data")])
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run)
        #expect(placement == .moveAside(mount: db.dataLocation, name: "pgdb", asideName: "pgdb.pg15-\(run.rawValue)", newName: "pgdb", newPGDATA: "/var/lib/postgresql/data/pgdb"))
        #expect(placement.pgdataEdit(database: db, targetMajor: 18) == nil)
    }

    @Test func the18LayoutGetsAMajorDirectoryOfItsOwn() throws {
        // One mount at /var/lib/postgresql, PGDATA naming the major (the postgres image's layout since 18).
        let db = try database(pgdata: "/var/lib/postgresql/15/docker", mounts: [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql")])
        let placement = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run)
        #expect(placement == .moveAside(mount: db.dataLocation, name: "15/docker", asideName: "15/docker.pg15-\(run.rawValue)", newName: "18/docker", newPGDATA: "/var/lib/postgresql/18/docker"))
        #expect(placement.pgdataEdit(database: db, targetMajor: 18) == .replace(old: "/var/lib/postgresql/15/docker", new: "/var/lib/postgresql/18/docker"))
        // Without PGDATA, a mount at /var/lib/postgresql holds the 15 data in data/; 18's default is inside it.
        let implicit = try database(mounts: [ComposeServiceVolume(type: .volume, source: "pg", target: "/var/lib/postgresql")])
        let next = try DataPlacement.choose(database: implicit, targetMajor: 18, oldMajor: 15, runID: run)
        #expect(next.newRelativePath == "18/docker" && next.oldRelativePath == "data.pg15-\(run.rawValue)")
        #expect(next.pgdataEdit(database: implicit, targetMajor: 18) == nil)
    }

    @Test func anonymousDataIsRefusedAsUsage() throws {
        let db = try database(mounts: [ComposeServiceVolume(type: .volume, source: nil, target: "/var/lib/postgresql/data")])
        #expect(throws: UpshiftError.self) { try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run) }
        do { _ = try DataPlacement.choose(database: db, targetMajor: 18, oldMajor: 15, runID: run) } catch let error as UpshiftError {
            #expect(error.exitCode == .usage)
        }
    }

    // MARK: - The PGDATA line

    @Test func replaceKeepsTheLineForm() throws {
        let map = "services:\n  db:\n    image: postgres:15\n    environment:\n      PGDATA: \"/var/lib/postgresql/15/docker\"\n      POSTGRES_PASSWORD: x\n"
        let edited = try PGDATAPin.apply(.replace(old: "/var/lib/postgresql/15/docker", new: "/var/lib/postgresql/18/docker"), to: map, imageLine: 3)
        #expect(edited == map.replacingOccurrences(of: "15/docker", with: "18/docker"))
        let list = "services:\n  db:\n    environment:\n      - PGDATA=/var/lib/postgresql/data/pgdata\n    image: postgres:15\n"
        let listEdited = try PGDATAPin.apply(.replace(old: "/var/lib/postgresql/data/pgdata", new: "/var/lib/postgresql/data/pgdata/pg18"), to: list, imageLine: 5)
        #expect(listEdited == list.replacingOccurrences(of: "pgdata\n", with: "pgdata/pg18\n"))
    }

    @Test func replaceRefusesAVariable() throws {
        let text = "services:\n  db:\n    image: postgres:15\n    environment:\n      PGDATA: ${PGDATA}\n"
        #expect(throws: UpshiftError.self) {
            try PGDATAPin.apply(.replace(old: "/var/lib/postgresql/data/pgdata", new: "/x"), to: text, imageLine: 3)
        }
        let none = "services:\n  db:\n    image: postgres:15\n    env_file: db.env\n"
        #expect(throws: UpshiftError.self) { try PGDATAPin.apply(.replace(old: "/a", new: "/b"), to: none, imageLine: 3) }
    }

    @Test func diffShowsOnlyTheChangedLines() {
        let diff = TextDiff.unified(old: "a\nPOSTGRES_PASSWORD: s\nb\n", new: "a\nPOSTGRES_PASSWORD: s\nPGDATA: /x\nb\n", label: "f")
        #expect(diff == "--- f\n+++ f\n@@ -3,0 +3,1 @@\n+PGDATA: /x\n")
    }
}
