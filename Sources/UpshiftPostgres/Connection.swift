import CLibPQ
import Foundation

/// One libpq connection, owned by one task.
///
/// Not Sendable on purpose: a `PGconn` must not be used from two threads at once, and the compiler now
/// enforces that instead of a lock. `PQfinish` runs in `deinit`, and also right away when a connect fails
/// (libpq allocates the `PGconn` even then; SwiftPQ's version leaks it).
public final class Connection {
    private let raw: OpaquePointer
    public let parameters: ConnectionParameters

    /// Connects (blocking, bounded by `parameters.connectTimeout`) and sets session settings that make
    /// text output independent of server defaults: UTC, ISO dates, hex bytea, fixed float digits.
    public init(_ parameters: ConnectionParameters) throws(PostgresError) {
        self.parameters = parameters
        let pairs = parameters.keywordValues
        let conn: OpaquePointer? = withCStringArrays(pairs.map(\.0), pairs.map(\.1)) { keys, values in
            PQconnectdbParams(keys, values, 0)
        }
        guard let conn else {
            throw PostgresError(.connectionFailed, "cannot connect to \(parameters): out of memory")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = PostgresError.sanitize(String(cString: PQerrorMessage(conn)), password: parameters.password)
            PQfinish(conn)
            throw PostgresError(.connectionFailed, "cannot connect to \(parameters): \(message)")
        }
        self.raw = conn
        try execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'")
    }

    deinit {
        PQfinish(raw)
    }

    /// `PQserverVersion`, e.g. 150018 or 180006.
    public var serverVersionNumber: Int { Int(PQserverVersion(raw)) }

    /// The major version: 15, 16, 18 (from 10 on the major is the version number divided by 10000).
    public var serverMajor: Int { serverVersionNumber / 10000 }

    /// `SHOW server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    public func serverVersion() throws(PostgresError) -> String {
        try query("SHOW server_version").single().requiredString("server_version")
    }

    /// Runs one statement with `$1`, `$2`, ... bound to `parameters` (text format; nil is NULL).
    /// Values never become part of the SQL text, so they need no quoting.
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
        let result: OpaquePointer? = withOptionalCStrings(parameters) { values in
            PQexecParams(raw, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try consume(result, sql: sql)
    }

    /// Runs SQL that may hold several statements and takes no parameters (DDL, test fixtures).
    /// Returns the result of the last statement.
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> QueryResult {
        try consume(PQexec(raw, sql), sql: sql)
    }

    private func consume(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> QueryResult {
        guard let result else {
            throw PostgresError(.queryFailed, PostgresError.sanitize(String(cString: PQerrorMessage(raw)), password: parameters.password))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY else {
            let message = PostgresError.sanitize(String(cString: PQresultErrorMessage(result)), password: parameters.password)
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PostgresError(.queryFailed, message, sqlState: sqlState)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            let values: [String?] = (0..<columnCount).map { c in
                PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(r), Int32(c)))
            }
            rows.append(Row(columns: columns, values: values))
        }
        return QueryResult(columns: columns, rows: rows, commandStatus: String(cString: PQcmdStatus(result)))
    }
}

// MARK: - C string plumbing

/// Calls `body` with NULL-terminated arrays of C strings for libpq's keyword/value API.
func withCStringArrays<R>(_ keys: [String], _ values: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let keyCopies = keys.map { strdup($0) }
    let valueCopies = values.map { strdup($0) }
    defer {
        keyCopies.forEach { free($0) }
        valueCopies.forEach { free($0) }
    }
    var keyPointers: [UnsafePointer<CChar>?] = keyCopies.map { UnsafePointer($0) } + [nil]
    var valuePointers: [UnsafePointer<CChar>?] = valueCopies.map { UnsafePointer($0) } + [nil]
    return keyPointers.withUnsafeMutableBufferPointer { k in
        valuePointers.withUnsafeMutableBufferPointer { v in
            body(UnsafePointer(k.baseAddress!), UnsafePointer(v.baseAddress!))
        }
    }
}

/// Calls `body` with an array of C strings (NULL for nil) for `PQexecParams`.
func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    if pointers.isEmpty { return body(nil) }
    return pointers.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
}
