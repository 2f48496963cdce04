/// Where and how to connect, passed to libpq as separate keywords (`PQconnectdbParams`).
///
/// Not Codable on purpose (it would persist the password). There is no conninfo-string rendering: the password only ever
/// travels as its own keyword value, and `description` omits it.
public struct ConnectionParameters: Sendable, Hashable, CustomStringConvertible {
    /// Host name, IP address, or an absolute Unix-socket directory.
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Seconds libpq waits for a connection before giving up (libpq's minimum effective value is 2).
    public var connectTimeout: Int
    public var applicationName: String
    /// More libpq keywords (`sslmode`, `options`, ...). Never put `password` here.
    public var extra: [String: String]

    public init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        user: String = "postgres",
        password: String? = nil,
        database: String = "postgres",
        connectTimeout: Int = 10,
        applicationName: String = "upshift",
        extra: [String: String] = [:]
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.extra = extra
    }

    /// The same server and credentials, another database.
    public func with(database: String) -> ConnectionParameters {
        var copy = self
        copy.database = database
        return copy
    }

    /// Keyword/value pairs for libpq, in a stable order.
    var keywordValues: [(String, String)] {
        var pairs: [(String, String)] = [
            ("host", host),
            ("port", String(port)),
            ("user", user),
            ("dbname", database),
            ("connect_timeout", String(connectTimeout)),
            ("application_name", applicationName),
        ]
        if let password { pairs.append(("password", password)) }
        // Never let a stray PGPASSFILE or service file decide for us silently; extra keys come last.
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) where key != "password" {
            pairs.append((key, value))
        }
        return pairs
    }

    /// `user@host:port/database`, without the password.
    public var description: String { "\(user)@\(host):\(port)/\(database)" }

    // Keep the password out of any reflection-based dump too.
    public var customMirror: Mirror {
        Mirror(self, children: ["host": host, "port": port, "user": user, "database": database], displayStyle: .struct)
    }
}

extension ConnectionParameters: CustomReflectable {}
