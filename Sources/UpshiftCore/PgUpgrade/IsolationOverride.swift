import Foundation
import UpshiftCompose
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The override compose file of the maintenance window, written as JSON (which is YAML).
public enum IsolationOverride {
    public static func write(path: String, service: String, hostPort: Int, containerPort: Int = 5432) throws {
        try write(path: path, service: service, settings: ["ports": ["127.0.0.1:\(hostPort):\(containerPort)"], "restart": "no"])
    }

    /// An override file (0600) that sets `settings` on one service; also the staged server's image.
    static func write(path: String, service: String, settings: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: ["services": [service: settings]], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw UpshiftError("cannot write the compose override \(path)")
        }
    }
}
