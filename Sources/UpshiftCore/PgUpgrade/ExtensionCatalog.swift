import Foundation
import UpshiftSupport

/// An extension installed in one database of the old cluster, with its version.
public struct InstalledExtension: Sendable, Hashable, Codable, CustomStringConvertible {
    public var database: String
    public var name: String
    public var version: String

    public var description: String { "\(name) \(version) (database \(database))" }

    /// The query, run in each database, whose `name|version` lines `parse` reads.
    static let query = "SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname"

    static func parse(_ lines: [String], database: String) -> [InstalledExtension] {
        lines.compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 1).map(String.init)
            return fields.count == 2 ? InstalledExtension(database: database, name: fields[0], version: fields[1]) : nil
        }
    }
}

/// What one PostgreSQL installation in an image offers: each extension's control file (default version and
/// shared library) and the library files present, read in a one-off container of that image.
///
/// Read before any downtime: an extension the new image lacks makes the restore (or pg_upgrade) fail inside the
/// window, with the application already stopped — the commonest way such upgrades go wrong elsewhere.
struct ExtensionCatalog: Sendable, Hashable {
    struct Control: Sendable, Hashable {
        var defaultVersion: String
        /// `module_pathname` without `$libdir/` (`vector`), `nil` for an SQL-only extension.
        var module: String?
    }
    var controls: [String: Control]
    /// Shared library names in the package library directory, without `.so`.
    var modules: Set<String>

    /// Reads the catalog of the installation whose `pg_config` is `pgConfig` (on PATH by default).
    static func read(image: String, pgConfig: String = "pg_config", runner: any CommandRunning) async throws -> ExtensionCatalog {
        // A fixed script; the only value, pg_config's path, is an argument ($1), never part of the text.
        let script = #"""
            set -e
            share="$("$1" --sharedir)/extension"; lib="$("$1" --pkglibdir)"
            cd "$share"
            for f in *.control; do
                [ -e "$f" ] || continue
                v="$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$f")"
                m="$(sed -n "s/^[[:space:]]*module_pathname[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$f")"
                echo "control|${f%.control}|$v|$m"
            done
            cd "$lib"
            for f in *.so; do [ -e "$f" ] && echo "module|${f%.so}"; done
            true
            """#
        let result = try await runner.run(Command(
            "docker", ["run", "--rm", "--network", "none", "--log-driver", "none", "--entrypoint", "sh", image, "-c", script, "sh", pgConfig],
            timeout: .seconds(120)))
        guard result.termination.isSuccess else {
            throw UpshiftError(
                "cannot list the extensions of \(image) (\(pgConfig)): \(result.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? "\(result.termination)")",
                hint: "the image needs sh, sed and pg_config; nothing was changed")
        }
        return parse(result.stdoutText)
    }

    static func parse(_ text: String) -> ExtensionCatalog {
        var controls: [String: Control] = [:]
        var modules = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.first == "control", fields.count == 4 {
                let module = fields[3].isEmpty ? nil : (fields[3].hasPrefix("$libdir/") ? String(fields[3].dropFirst("$libdir/".count)) : fields[3])
                controls[fields[1]] = Control(defaultVersion: fields[2], module: module)
            } else if fields.first == "module", fields.count == 2 {
                modules.insert(fields[1])
            }
        }
        return ExtensionCatalog(controls: controls, modules: modules)
    }

    /// The installed extensions this installation cannot provide: no control file, or its library missing.
    func missing(_ installed: [InstalledExtension]) -> [InstalledExtension] {
        installed.filter { ext in
            guard let control = controls[ext.name] else { return true }
            return control.module.map { !modules.contains($0) } ?? false
        }
    }

    /// `vector 0.7.0 (database app), postgis 3.3.2 (database app)` for a refusal.
    static func list(_ extensions: [InstalledExtension]) -> String {
        extensions.map(\.description).joined(separator: ", ")
    }
}
