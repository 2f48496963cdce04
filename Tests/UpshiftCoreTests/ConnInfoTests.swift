import Testing
import UpshiftSupport

/// A database name never becomes a connection string on a client tool's command line.
struct ConnInfoTests {
    @Test(arguments: [
        ("app", "dbname='app'"),
        ("host=evil dbname=postgres", "dbname='host=evil dbname=postgres'"),
        ("it's", #"dbname='it\'s'"#),
        (#"back\slash"#, #"dbname='back\\slash'"#),
        ("postgresql://evil/db", "dbname='postgresql://evil/db'"),
    ])
    func keywordForm(_ name: String, _ expected: String) {
        #expect(ConnInfo.dbname(name) == expected)
    }
}
