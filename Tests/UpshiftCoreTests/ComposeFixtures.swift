import Foundation
import Testing
import UpshiftCompose

/// Access to the compose fixtures captured by `Fixtures/compose/capture.sh` from real compose runs.
enum ComposeFixtures {
    static var root: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/compose")
    }

    static func directory(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func config(_ name: String) throws -> ComposeConfig {
        let data = try Data(contentsOf: root.appendingPathComponent(name).appendingPathComponent("config.json"))
        return try ComposeConfig.decode(data)
    }

    static func text(_ name: String, _ file: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(name).appendingPathComponent(file), encoding: .utf8)
    }
}
