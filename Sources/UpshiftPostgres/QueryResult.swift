/// Rows of a text-format result, copied out of the `PGresult` (which is cleared at once).
public struct QueryResult: Sendable, Hashable {
    public var columns: [String]
    public var rows: [Row]
    /// The command tag, e.g. `INSERT 0 1`.
    public var commandStatus: String

    public init(columns: [String], rows: [Row], commandStatus: String = "") {
        self.columns = columns
        self.rows = rows
        self.commandStatus = commandStatus
    }

    /// The only row, or an error when there are zero or several.
    public func single() throws(PostgresError) -> Row {
        guard rows.count == 1 else {
            throw PostgresError(.unexpectedResult, "expected one row, got \(rows.count)")
        }
        return rows[0]
    }
}

/// One row in text format; `nil` is SQL NULL. Typed accessors parse the server's text output.
public struct Row: Sendable, Hashable {
    public var columns: [String]
    public var values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ index: Int) -> String? { values[index] }

    public subscript(_ column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return values[index]
    }

    private func index(of column: String) throws(PostgresError) -> Int {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError(.unexpectedResult, "no column \"\(column)\" in result (\(columns.joined(separator: ", ")))")
        }
        return index
    }

    /// The text value, or nil for NULL.
    public func string(_ column: String) throws(PostgresError) -> String? {
        values[try index(of: column)]
    }

    /// The text value; NULL is an error.
    public func requiredString(_ column: String) throws(PostgresError) -> String {
        guard let value = try string(column) else {
            throw PostgresError(.unexpectedResult, "column \"\(column)\" is NULL")
        }
        return value
    }

    public func int(_ column: String) throws(PostgresError) -> Int {
        let text = try requiredString(column)
        guard let value = Int(text) else { throw PostgresError(.unexpectedResult, "column \"\(column)\" is not an integer: \(text)") }
        return value
    }

    public func optionalInt(_ column: String) throws(PostgresError) -> Int? {
        guard let text = try string(column) else { return nil }
        guard let value = Int(text) else { throw PostgresError(.unexpectedResult, "column \"\(column)\" is not an integer: \(text)") }
        return value
    }

    /// Postgres text booleans are `t`/`f`; `on`/`off` (from SHOW) are accepted too.
    public func bool(_ column: String) throws(PostgresError) -> Bool {
        switch try requiredString(column) {
        case "t", "true", "on", "yes", "1": return true
        case "f", "false", "off", "no", "0": return false
        case let other: throw PostgresError(.unexpectedResult, "column \"\(column)\" is not a boolean: \(other)")
        }
    }
}
