/// A libpq failure, safe to show: it never carries the password or a rendered conninfo.
///
/// Like postgres-nio's PSQLError, the text is built from parts we control (host, port, user, database,
/// the server's message) and the known password is masked once more in case a server message echoed it.
public struct PostgresError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is; stable names for callers and the audit log.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public static let connectionFailed = Code(name: "connection_failed")
        public static let queryFailed = Code(name: "query_failed")
        public static let notReady = Code(name: "not_ready")
        public static let invalidParameters = Code(name: "invalid_parameters")
        public static let unexpectedResult = Code(name: "unexpected_result")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The server's SQLSTATE when it sent one (`28P01` bad password, `42P01` undefined table, ...).
    public var sqlState: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String {
        "\(code): \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    /// Masks `password` (when non-empty) in a message that came from libpq or the server.
    static func sanitize(_ text: String, password: String?) -> String {
        var clean = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let password, !password.isEmpty {
            clean = clean.replacingOccurrences(of: password, with: "******")
        }
        return clean
    }
}

import Foundation
