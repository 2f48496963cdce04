import Foundation

/// The run folder's JSON records (fingerprints, cluster settings, the dump manifest, the online
/// preparation): indented, keys sorted, mode 0600 because they describe the database.
package enum PrivateJSON {
    /// Written atomically and fsynced, or the step fails: a fingerprint that silently went missing (a full
    /// disk) would let rollback skip its old-data check.
    package static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.atomicWrite(try encoder.encode(value), to: path, mode: 0o600)
    }
}
