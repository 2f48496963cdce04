import Foundation

/// The run folder's JSON records (fingerprints, cluster settings, the dump manifest, the online
/// preparation): indented, keys sorted, mode 0600 because they describe the database.
enum PrivateJSON {
    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileManager.default.createFile(atPath: path, contents: try encoder.encode(value), attributes: [.posixPermissions: 0o600])
    }
}
