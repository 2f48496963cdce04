import Foundation

/// Where a Postgres data directory really lives, in terms the engine understands.
///
/// PGDATA is a path inside the container; what survives `docker compose down` is the mount that holds it.
/// The mount is the one whose target is the longest prefix of PGDATA; the rest of the path is a sub-path
/// inside that mount (InvenTree: `./inventree-data` bound at `/var/lib/postgresql/data`, PGDATA
/// `/var/lib/postgresql/data/pgdb`, sub-path `pgdb`).
public struct DataLocation: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A host directory bind-mounted into the container.
        case bind
        /// A named docker volume (`volumeName` is the real docker name, not the compose key).
        case volume
        /// An anonymous volume: compose recreates it with the container, so the data is not safely kept.
        case anonymous
        /// tmpfs: the data is in memory and lost on every stop.
        case tmpfs
        /// No mount covers PGDATA: the data lives in the container's writable layer (or the image's own
        /// anonymous VOLUME) and is lost when the container is recreated.
        case none
    }

    public var kind: Kind
    /// PGDATA inside the container.
    public var pgdata: String
    /// The container path the mount is attached at (`nil` for `.none`).
    public var mountTarget: String?
    /// bind: the absolute host directory.
    public var hostPath: String?
    /// volume: the docker volume name (`volumes.<key>.name` from compose).
    public var volumeName: String?
    /// volume: the compose key of the volume.
    public var volumeKey: String?
    /// The path of PGDATA relative to the root of what is mounted (includes a `volume.subpath`), "" when
    /// PGDATA is the mount root.
    public var subpath: String

    public init(
        kind: Kind, pgdata: String, mountTarget: String? = nil, hostPath: String? = nil, volumeName: String? = nil,
        volumeKey: String? = nil, subpath: String = ""
    ) {
        self.kind = kind
        self.pgdata = pgdata
        self.mountTarget = mountTarget
        self.hostPath = hostPath
        self.volumeName = volumeName
        self.volumeKey = volumeKey
        self.subpath = subpath
    }

    /// True when the data survives `docker compose down` and a container recreation.
    public var isPersistent: Bool { kind == .bind || kind == .volume }

    /// The data directory on the host for a bind mount (`hostPath` + sub-path).
    public var hostDataDirectory: String? {
        guard kind == .bind, let hostPath else { return nil }
        return subpath.isEmpty ? hostPath : "\(hostPath)/\(subpath)"
    }

    /// One line for people: `bind /srv/app/data (sub-path pgdb)` or `volume app_pgdata`.
    public var summary: String {
        let sub = subpath.isEmpty ? "" : " (sub-path \(subpath))"
        switch kind {
        case .bind: return "bind \(hostPath ?? "?")\(sub)"
        case .volume: return "volume \(volumeName ?? "?")\(sub)"
        case .anonymous: return "anonymous volume at \(mountTarget ?? pgdata) (data is lost when the container is recreated)"
        case .tmpfs: return "tmpfs at \(mountTarget ?? pgdata) (data is lost on every stop)"
        case .none: return "no mount covers \(pgdata) (data lives in the container and is lost when it is recreated)"
        }
    }

    /// Resolves which mount of `volumes` holds `pgdata`: the longest target that equals PGDATA or is a
    /// directory prefix of it.
    /// - Parameter topLevelVolumes: compose's top-level volumes, for the real docker name of a named volume.
    public static func resolve(
        pgdata rawPGData: String, volumes: [ComposeServiceVolume], topLevelVolumes: [String: ComposeTopLevelVolume],
        projectName: String
    ) -> DataLocation {
        let pgdata = normalize(rawPGData)
        let candidates = volumes.filter { mount in
            let target = normalize(mount.target)
            return pgdata == target || target == "/" || pgdata.hasPrefix(target + "/")
        }
        guard let mount = candidates.max(by: { normalize($0.target).count < normalize($1.target).count }) else {
            return DataLocation(kind: .none, pgdata: pgdata)
        }
        let target = normalize(mount.target)
        var subpath = pgdata == target ? "" : String(pgdata.dropFirst(target == "/" ? 1 : target.count + 1))
        switch mount.type {
        case .bind:
            return DataLocation(kind: .bind, pgdata: pgdata, mountTarget: target, hostPath: mount.source, subpath: subpath)
        case .volume:
            guard let key = mount.source, !key.isEmpty else {
                return DataLocation(kind: .anonymous, pgdata: pgdata, mountTarget: target, subpath: subpath)
            }
            if let volumeSubpath = mount.volumeSubpath, !volumeSubpath.isEmpty {
                let trimmed = volumeSubpath.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                subpath = subpath.isEmpty ? trimmed : "\(trimmed)/\(subpath)"
            }
            let name = topLevelVolumes[key]?.name ?? "\(projectName)_\(key)"
            return DataLocation(
                kind: .volume, pgdata: pgdata, mountTarget: target, volumeName: name, volumeKey: key, subpath: subpath)
        case .tmpfs:
            return DataLocation(kind: .tmpfs, pgdata: pgdata, mountTarget: target, subpath: subpath)
        default:
            return DataLocation(kind: .none, pgdata: pgdata, mountTarget: target, subpath: subpath)
        }
    }

    package static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." && !part.isEmpty {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}

extension DataLocation {
    /// The same data seen through its parent directory, so PGDATA becomes a renamable entry instead of a
    /// mount root. Only possible for a bind mount whose PGDATA is the bind source itself (the parent is
    /// then on the host); `nil` otherwise. Returns the location to mount and the name of PGDATA in it.
    public var parentForMoveAside: (location: DataLocation, name: String)? {
        if !subpath.isEmpty { return (self, subpath) }
        guard kind == .bind, let hostPath else { return nil }
        let parent = (hostPath as NSString).deletingLastPathComponent
        let name = (hostPath as NSString).lastPathComponent
        guard !parent.isEmpty, parent != hostPath, !name.isEmpty else { return nil }
        var location = self
        location.hostPath = parent
        location.subpath = name
        return (location, name)
    }
}
