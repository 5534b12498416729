import Foundation
import Registry
import Testing

@Suite struct TimestampTests {
    @Test func writesUTCWithMillisecondsAndReadsItBack() throws {
        #expect(Timestamp.string(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.string(Date(timeIntervalSince1970: 1_795_000_000.042)) == "2026-11-18T11:06:40.042Z")
        #expect(Timestamp.string(Date(timeIntervalSince1970: 951_782_399.999)) == "2000-02-28T23:59:59.999Z")
        #expect(Timestamp.string(Date(timeIntervalSince1970: 253_402_300_799)) == "9999-12-31T23:59:59.000Z")
        for seconds in stride(from: 0.0, to: 4_000_000_000, by: 123_456_789.125) {
            let text = Timestamp.string(Date(timeIntervalSince1970: seconds))
            #expect(text.utf8.count == 24)
            let back = try #require(Timestamp.date(text))
            #expect(abs(back.timeIntervalSince1970 - seconds) < 0.001)
        }
    }
}
