import Foundation
import UpshiftSupport

/// An image's own `VOLUME` between the compose mount and PGDATA, which puts the cluster in an anonymous volume.
///
/// The official postgres images up to 17 declare `VOLUME /var/lib/postgresql/data`; from 18 it is
/// `/var/lib/postgresql`. A compose file written for 18 (paperless-ngx's `pgdata:/var/lib/postgresql`) that runs
/// a 15 tag therefore gets an anonymous volume at `/var/lib/postgresql/data`, over the sub-directory `data` of
/// the named volume: the cluster is in the anonymous volume, the named volume holds an empty directory. Read
/// from the compose model alone, that looks like "PGDATA a sub-directory of its mount, not initialised yet" —
/// wrong on both counts, and an upgrade planned on it would move an empty directory aside. The anonymous volume
/// survives `up` (compose hands it to the recreated container) but not `down` then `up` (orphaned) or `down -v`
/// (deleted), so upshift refuses, names the volume and says how to move the cluster onto the user's mount.
public struct ImageVolumeShadow: Sendable, Hashable, Codable {
    /// The image's `VOLUME` path that holds PGDATA (`/var/lib/postgresql/data`).
    public var imageVolume: String
    /// The docker name of the anonymous volume there, read from the container (`nil` without one).
    public var volumeName: String?
    /// What the compose mount is, for the message (`volume paperless_pgdata`).
    public var mountSummary: String
    /// Where the compose mount is attached (`/var/lib/postgresql`).
    public var mountTarget: String
    /// The docker volume or host folder of the compose mount, for the copy command of the hint.
    public var mountSource: String?

    public init(imageVolume: String, volumeName: String?, mountSummary: String, mountTarget: String, mountSource: String?) {
        self.imageVolume = imageVolume
        self.volumeName = volumeName
        self.mountSummary = mountSummary
        self.mountTarget = mountTarget
        self.mountSource = mountSource
    }

    /// The image volume that holds `pgdata` below the compose mount at `mountTarget`: one that is PGDATA or a
    /// parent of it and lies strictly inside the mount. A volume at the mount itself or above it (InvenTree's
    /// mount at `/var/lib/postgresql/data`, odoo's at `…/data/pgdata`) is covered by the mount and harmless.
    public static func shadowingVolume(pgdata: String, mountTarget: String, imageVolumes: [String]) -> String? {
        let data = DataLocation.normalize(pgdata)
        let mount = DataLocation.normalize(mountTarget)
        let inside = imageVolumes.map(DataLocation.normalize).filter { volume in
            (data == volume || data.hasPrefix(volume + "/")) && volume != mount && (mount == "/" || volume.hasPrefix(mount + "/"))
        }
        return inside.max { $0.count < $1.count }
    }

    /// The volume paths of `docker image inspect --format '{{json .Config.Volumes}}'` output
    /// (`{"/var/lib/postgresql/data":{}}`, or `null`).
    public static func imageVolumes(inspectJSON: String) -> [String]? {
        let text = inspectJSON.trimmingCharacters(in: .whitespacesAndNewlines)
        if text == "null" { return [] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        return object.keys.sorted()
    }

    /// The docker volume mounted at `destination`, from `docker inspect --format '{{json .Mounts}}'` output.
    public static func volumeName(mountsJSON: String, destination: String) -> String? {
        guard let mounts = try? JSONSerialization.jsonObject(with: Data(mountsJSON.utf8)) as? [[String: Any]] else { return nil }
        let wanted = DataLocation.normalize(destination)
        return mounts.first { ($0["Type"] as? String) == "volume" && ($0["Destination"] as? String).map(DataLocation.normalize) == wanted }?["Name"] as? String
    }

    /// Looks for the shadow on the engine: the image's volumes (the running container's image when there is
    /// one, else the service's image), then the container's mount there for the volume's name. `nil` when the
    /// data is where compose says, or when the image cannot be inspected (not pulled yet: nothing runs on it).
    public static func detect(database: DatabaseService, containerName: String?, containerImage: String?, runner: any CommandRunning) async -> ImageVolumeShadow? {
        let location = database.dataLocation
        guard location.isPersistent, let mountTarget = location.mountTarget else { return nil }
        let image = containerImage ?? database.imageText
        guard let inspect = try? await runner.run(Command("docker", ["image", "inspect", "--format", "{{json .Config.Volumes}}", image], timeout: .seconds(60))),
              inspect.termination.isSuccess, let volumes = imageVolumes(inspectJSON: inspect.stdoutText),
              let shadow = shadowingVolume(pgdata: location.pgdata, mountTarget: mountTarget, imageVolumes: volumes)
        else { return nil }
        var name: String?
        if let containerName,
           let mounts = try? await runner.run(Command("docker", ["inspect", "--format", "{{json .Mounts}}", containerName], timeout: .seconds(60))),
           mounts.termination.isSuccess {
            name = volumeName(mountsJSON: mounts.stdoutText, destination: shadow)
        }
        return ImageVolumeShadow(
            imageVolume: shadow, volumeName: name, mountSummary: location.summary, mountTarget: mountTarget,
            mountSource: location.volumeName ?? location.hostPath)
    }

    // MARK: - What the user reads

    /// What is wrong, for `service` on `image`.
    public func message(service: String, image: String) -> String {
        let anonymous = volumeName.map { "anonymous volume \($0)" } ?? "an anonymous volume"
        return "the data of service \(service) is not on \(mountSummary): \(image) declares VOLUME \(imageVolume), so docker mounts "
            + "\(anonymous) there, over the directory \(relativeToMount) of your mount at \(mountTarget); the cluster lives in that "
            + "anonymous volume, which `docker compose down` then `up` leaves behind and `down -v` deletes"
    }

    /// How to get out: move the cluster onto the user's mount, in the 18+ layout that this compose file was
    /// written for (`PGDATA=/var/lib/postgresql/<major>/docker` on the mount at `/var/lib/postgresql`), which
    /// pg-upgrade then upgrades by changing PGDATA to the new major's directory.
    public func hint(service: String, image: String, major: Int?) -> String {
        let from = volumeName ?? "<the anonymous volume at \(imageVolume)>"
        guard let major, DataLocation.normalize(mountTarget) == "/var/lib/postgresql", let mountSource else {
            return "move the cluster from \(from) onto a mount of your own at \(imageVolume) (stop \(service), copy the files with their owner), then run upshift again; nothing was changed"
        }
        return "move the cluster onto your volume first: `docker compose stop \(service)`; "
            + "`docker run --rm -v \(from):/from -v \(mountSource):/to --entrypoint sh \(image) -c 'mkdir -p /to/\(major) && cp -a /from /to/\(major)/docker'`; "
            + "set `PGDATA: /var/lib/postgresql/\(major)/docker` in the environment of \(service); `docker compose up -d \(service)`. "
            + "Then pg-upgrade keeps it on the volume (PGDATA becomes /var/lib/postgresql/<new major>/docker). Nothing was changed"
    }

    /// The image volume's path inside the mount (`data`).
    var relativeToMount: String {
        let mount = DataLocation.normalize(mountTarget)
        return mount == "/" ? String(imageVolume.dropFirst()) : String(imageVolume.dropFirst(mount.count + 1))
    }
}
