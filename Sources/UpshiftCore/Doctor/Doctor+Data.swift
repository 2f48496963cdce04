import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

extension Doctor {
    /// Major, mount, layout, owner, shutdown state, disk space, link/swap: all through read-only helper
    /// containers on the data mount.
    func dataChecks(_ stage: inout DoctorStage, containers: [ComposeContainer]) async {
        let db = stage.database
        let containerImages = containers.filter { $0.service == db.service }.compactMap(\.image)
        let helperImage = await DataDirectoryOperations.chooseHelperImage([db.imageText] + containerImages, runner: runner) ?? db.imageText
        stage.helperImage = helperImage
        let data = DataDirectoryOperations(runner: runner, image: helperImage)
        let location = db.dataLocation.isPersistent ? db.dataLocation : (db.legacyLayoutLocation ?? db.dataLocation)

        // An image VOLUME between the mount and PGDATA: the cluster is not where the compose file says, so the
        // probe of the mount (an empty directory) and everything planned on it would mislead.
        let dbContainer = containers.first { $0.service == db.service }
        if let shadow = await ImageVolumeShadow.detect(database: db, containerName: dbContainer?.name, containerImage: dbContainer?.image, runner: runner) {
            stage.add(DoctorCheck(DoctorCheckID.major, "image major vs data on disk", .skip, "the cluster is not on the compose mount (see data-mount)"))
            stage.add(DoctorCheck(DoctorCheckID.dataMount, "data on a persistent mount", .fail, shadow.message(service: db.service, image: db.imageText),
                                  fix: shadow.hint(service: db.service, image: db.imageText, major: db.imageMajor)))
            stage.add(DoctorCheck(DoctorCheckID.layout, "PGDATA layout and where the new cluster goes", .skip, "the cluster is not on the compose mount (see data-mount)"))
            for (id, title) in [(DoctorCheckID.owner, "data owner uid"), (DoctorCheckID.shutdown, "clean shutdown state"), (DoctorCheckID.diskSpace, "disk space for the dump and the new cluster")] {
                stage.add(DoctorCheck(id, title, .skip, "the cluster is not on the compose mount (see data-mount)"))
            }
            stage.add(DoctorRules.linkSwap(placement: nil))
            return
        }

        progress("reading PG_VERSION through a helper container")
        var probeError: String?
        do {
            stage.probe = try await data.probe(location)
        } catch {
            probeError = "\(error)"
        }
        stage.add(DoctorRules.major(database: db, probe: stage.probe, probeError: probeError, targetMajor: stage.target))
        stage.add(DoctorRules.dataMount(database: db))

        // Layout and placement (what pg-upgrade would do), plus the names it would create.
        var placementResult: Result<DataPlacement, UpshiftError>?
        var existing: [String] = []
        if let imageMajor = db.imageMajor, stage.upgrading, db.legacyLayoutLocation == nil {
            do {
                let placement = try DataPlacement.choose(database: db, targetMajor: stage.target, oldMajor: imageMajor, runID: RunID.make())
                stage.placement = placement
                placementResult = .success(placement)
                existing = (try? await PreflightChecks.existingPlacementPaths(placement, data: data)) ?? []
            } catch let error as UpshiftError {
                placementResult = .failure(error)
            } catch {
                placementResult = .failure(UpshiftError("\(error)"))
            }
        }
        stage.add(DoctorRules.layout(database: db, targetMajor: stage.target, placement: placementResult, existingPaths: existing))

        guard location.isPersistent, stage.probe?.major != nil else {
            stage.add(DoctorCheck(DoctorCheckID.owner, "data owner uid", .skip, "no cluster to look at"))
            stage.add(DoctorCheck(DoctorCheckID.shutdown, "clean shutdown state", .skip, "no cluster to look at"))
            stage.add(DoctorCheck(DoctorCheckID.diskSpace, "disk space for the dump and the new cluster", .skip, "no cluster to look at"))
            stage.add(DoctorRules.linkSwap(placement: stage.placement))
            return
        }
        let images = DoctorImages(runner: runner)

        // Owner.
        progress("reading the owner and size of PGDATA")
        async let ownershipRead = try? data.ownership(location, relativePath: location.subpath)
        async let uidRead = images.postgresUID(helperImage)
        async let sizeRead = try? data.size(location)
        let ownership = await ownershipRead ?? nil
        let uid = await uidRead
        stage.add(DoctorRules.owner(ownership: ownership, expectedUID: uid, uidSource: helperImage, pgdata: location.pgdata))

        // Shutdown state (only meaningful while stopped).
        if stage.dbRunning {
            stage.add(DoctorRules.shutdown(running: true, control: nil, controlError: nil))
        } else {
            progress("reading pg_controldata through a helper container")
            var controlError: String?
            let diskMajor = stage.probe?.major
            var controlImage: String? = ImageReference(parsing: helperImage)?.major == diskMajor ? helperImage : nil
            if controlImage == nil, let diskMajor {
                let candidate = db.image.withMajor(diskMajor).description
                if await images.isLocal(candidate) { controlImage = candidate }
            }
            if let controlImage {
                let tools = DataDirectoryOperations(runner: runner, image: controlImage)
                do {
                    let result = try await tools.runHelper(location, tool: "pg_controldata", [DataDirectoryOperations.containerPath(location.subpath)], readOnly: true, timeout: .seconds(60))
                    if result.termination.isSuccess {
                        let pid = (try? await tools.exists(location, relativePath: DataDirectoryOperations.trim(location.subpath + "/postmaster.pid"))) ?? false
                        stage.controlData = DoctorControlData.parse(result.stdoutText, stalePidFile: pid)
                    } else {
                        controlError = result.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(result.termination)"
                    }
                } catch {
                    controlError = "\(error)"
                }
            } else {
                controlError = "no local image of PostgreSQL \(diskMajor.map(String.init) ?? "?") to run pg_controldata with (doctor does not pull)"
            }
            stage.add(DoctorRules.shutdown(running: false, control: stage.controlData, controlError: controlError))
        }

        // Disk space: sized after the cluster facts are known (running) or from du (stopped).
        stage.dataBytes = await sizeRead ?? nil
        stage.add(DoctorRules.linkSwap(placement: stage.placement))
    }

    /// Disk space needs the database size: `pg_database_size` when running, else the data directory.
    func diskSpaceCheck(_ stage: inout DoctorStage) async {
        guard stage.probe?.major != nil, stage.engine else { return }
        let db = stage.database
        let location = stage.placement?.mount ?? (db.dataLocation.isPersistent ? db.dataLocation : (db.legacyLayoutLocation ?? db.dataLocation))
        let data = DataDirectoryOperations(runner: runner, image: stage.helperImage ?? db.imageText)
        progress("measuring free space")
        let dataFree = try? await PgUpgradePreflight.freeBytes(in: location, data: data)
        let backupDirectory = stage.report.directory.map { $0 + "/backups" } ?? "backups"
        let bytes: Int64?
        let source: String
        if let cluster = stage.cluster {
            bytes = cluster.totalBytes
            source = "sum of pg_database_size"
        } else {
            bytes = stage.dataBytes
            source = stage.dataBytes == nil ? "the database is not running and du failed" : "size of the data directory; the database is not running"
        }
        let check = DoctorRules.diskSpace(databaseBytes: bytes, sizeSource: source, dataFree: dataFree ?? nil,
                                          dataPlace: DataPlacement.describe(location), backupFree: PgUpgradePreflight.hostFreeBytes(backupDirectory),
                                          backupDirectory: backupDirectory)
        // Keep it next to the other data checks.
        if let index = stage.report.checks.firstIndex(where: { $0.id == DoctorCheckID.linkSwap }) {
            stage.report.checks.insert(check, at: index)
        } else {
            stage.add(check)
        }
    }
}
