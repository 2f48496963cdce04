import Testing
@testable import UpshiftCore

struct RedactorTests {
    @Test func masksEverySecretLongestFirst() {
        let r = Redactor(secrets: ["s3cret", "s3cret-longer", "x"])
        #expect(r.redact("a s3cret-longer b s3cret c x") == "a ****** b ****** c x")
    }
}
