import Foundation
import UpshiftCompose
import UpshiftSupport

extension DatabaseService {
    /// Reads a `POSTGRES_PASSWORD_FILE` that exists only inside the container (a compose secret sourced from
    /// the environment, a file this host cannot read) with `cat` in the running service: captured, never
    /// logged, masked like any password once read. Returns whether it read one; a password already known, or
    /// another source, reads nothing.
    /// - Throws: a usage error when the service is not running or the file cannot be read there either.
    mutating func readPasswordInContainer(compose: ComposeOperations, runner: any CommandRunning) async throws -> Bool {
        guard password == nil, case .file(let path, _) = passwordSource else { return false }
        let result = try await runner.run(compose.execCommand(service, ["cat", path], timeout: .seconds(60)))
        guard result.termination.isSuccess else {
            throw UpshiftError.usage(
                "POSTGRES_PASSWORD_FILE \(path) of service \(service) cannot be read on this host, nor inside its container (is it running?)",
                hint: "start the database service, or make the secret's file readable by the user running upshift")
        }
        password = Secret(result.stdoutText.trimmingCharacters(in: .newlines), commonWords: commonWords)
        notes.removeAll { $0.contains("is only readable inside the container") }
        return true
    }
}
