/// Database names for client tools' `-d`.
///
/// `pg_dump`, `psql`, `pg_isready` and `pg_restore` read a `-d` value that contains `=` or starts with
/// `postgresql://` as a whole connection string: a database named `host=evil dbname=postgres` would send the
/// password in `PGPASSWORD` to another host. The keyword form `dbname='…'` makes any name only a name.
public enum ConnInfo {
    /// `dbname='name'`, with `\` and `'` escaped as libpq's connection-string syntax requires.
    public static func dbname(_ name: String) -> String {
        "dbname='" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
