import Foundation
import UpshiftCompose
import UpshiftCore

/// Text and JSON renderings of `ProjectStatus`.
enum StatusRenderer {
    static func json(_ status: ProjectStatus) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(status), as: UTF8.self)
    }

    static func text(_ status: ProjectStatus) -> String {
        var out: [String] = []
        let db = status.database
        let svc = db.service
        if let mismatch = db.mismatch { out += loud(mismatch) + [""] }

        let composeName = status.compose.flavor == .plugin ? "docker compose" : "docker-compose"
        out.append("project    \(status.project)  (\(status.directory))")
        let source: String
        switch status.fileSource {
        case .flag: source = "-f"
        case .composeFileVariable: source = "COMPOSE_FILE"
        case .discovered: source = "discovered"
        }
        out.append("files      \(status.files.joined(separator: ", "))  (\(source))")
        if !status.envFiles.isEmpty { out.append("env files  \(status.envFiles.joined(separator: ", "))") }
        out.append("compose    \(composeName) \(status.compose.version)")
        for warning in status.composeWarnings { out.append("  compose warning: \(warning)") }
        out.append("")

        out.append("services")
        let width = (status.services.map(\.name.count).max() ?? 0) + 2
        let imageWidth = (status.services.map { ($0.image ?? "(build)").count }.max() ?? 0) + 2
        for service in status.services {
            var line = "  " + pad(service.name, width) + pad(service.image ?? "(build)", imageWidth)
            if let states = service.states {
                line += states.isEmpty ? "not created" : states.joined(separator: ", ")
                if let health = service.health { line += " (\(health))" }
            } else {
                line += "state unknown"
            }
            out.append(line)
        }
        if !status.engineReachable { out.append("  (no docker engine answered: running state and data on disk unknown)") }
        out.append("")

        out.append("database   \(svc.service)")
        var imageLine = "  image      \(svc.imageText)  (major \(svc.imageMajor.map(String.init) ?? "unknown"))"
        if let source = db.imageSource { imageLine += "\n             defined at \(describe(source))" }
        out.append(imageLine)
        out.append("  on disk    \(onDisk(db))")
        out.append("  superuser  \(svc.superuser)   database \(svc.database)   password \(password(svc.passwordSource))")
        out.append("  PGDATA     \(svc.pgdata)  (\(svc.pgdataIsExplicit ? "set in environment" : "image default"))")
        var dataLine = "  data       \(svc.dataLocation.summary)"
        if let size = db.sizeBytes { dataLine += ", \(formatBytes(size))" }
        out.append(dataLine)
        if let legacy = svc.legacyLayoutLocation { out.append("  old layout \(legacy.summary)") }
        if !svc.sidecars.isEmpty {
            out.append("  sidecars   \(svc.sidecars.joined(separator: ", "))  (postgres image, no server: pg-upgrade switches them with the database)")
        }
        for note in svc.notes { out.append("  note: \(note)") }
        out.append("")

        out.append("application \(status.app.summary)")
        out.append("")
        if let runs = status.lastRuns {
            out.append("last runs")
            if runs.isEmpty { out.append("  none") }
            for run in runs { out.append("  \(run.startedAt)  \(run.runID)  \(run.command)  \(run.outcome)") }
        } else {
            out.append("last runs  (audit log not read)")
        }
        if let mismatch = db.mismatch { out += [""] + loud(mismatch) }
        return out.joined(separator: "\n")
    }

    static func loud(_ mismatch: ProjectStatus.MajorMismatch) -> [String] {
        let bar = String(repeating: "!", count: 78)
        var lines = [bar, "!! POSTGRES MAJOR MISMATCH: image \(mismatch.imageMajor), data on disk \(mismatch.dataMajor)", "!! \(mismatch.message)", "!! what to do:"]
        for (index, advice) in mismatch.advice.enumerated() { lines.append("!!   \(index + 1). \(advice)") }
        lines.append(bar)
        return lines
    }

    static func onDisk(_ db: ProjectStatus.Database) -> String {
        if let shadow = db.imageVolumeShadow {
            return "not on \(shadow.mountSummary): in \(shadow.volumeName.map { "anonymous volume \($0)" } ?? "an anonymous volume") "
                + "at \(shadow.imageVolume), the image's own VOLUME (upshift doctor says how to move it)"
        }
        if let probe = db.onDisk {
            if case .cluster(let major, let version) = probe {
                return "PostgreSQL \(major) (PG_VERSION \(version))" + (db.mismatch == nil ? "" : "  <-- MISMATCH")
            }
            return probe.summary
        }
        return "unknown: \(db.probeError ?? "not checked")"
    }

    static func describe(_ source: ImageSource) -> String {
        let file = (source.file as NSString).lastPathComponent
        switch source.kind {
        case .literal: return "\(file):\(source.line)"
        case .envVariable(let name, let envFile, let line): return "\(file):\(source.line) via \(name) in \((envFile as NSString).lastPathComponent):\(line)"
        case .default(let name, let value): return "\(file):\(source.line) (default of \(name): \(value))"
        case .shellEnvironment(let name): return "\(file):\(source.line) via \(name) from the shell environment"
        case .unsupported(let reason): return "\(file):\(source.line) (\(reason))"
        }
    }

    static func password(_ source: DatabaseService.PasswordSource) -> String {
        switch source {
        case .environment: return "from POSTGRES_PASSWORD"
        case .file(let path, let host): return "from POSTGRES_PASSWORD_FILE \(path)" + (host.map { " (\($0))" } ?? "")
        case .none: return "not set"
        }
    }

    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(String(format: "%.1f", value)) \(units[unit])"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
