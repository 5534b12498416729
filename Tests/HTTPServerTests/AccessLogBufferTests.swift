import Foundation
@testable import HTTPServer
import Logging
import TestSupport
import Testing

/// The per-event-loop log ring: lines are formatted straight into it and come out of it intact,
/// in order, across its end; a full ring drops and counts rather than waits; the writer is asked
/// for a flush once per `flushBytes`.
@Suite struct AccessLogBufferTests {
    /// Drains everything the ring holds as text.
    private func drained(_ buffer: AccessLogBuffer) -> (text: String, dropped: Int) {
        var bytes: [UInt8] = []
        let dropped = buffer.drain { bytes.append(contentsOf: $0) }
        return (String(decoding: bytes, as: UTF8.self), dropped)
    }

    /// What follows the time in a line (the time itself depends on the clock).
    private func afterTime(_ line: Substring) -> Substring {
        line.drop { $0 != " " }
    }

    @Test func aLineInTheRingIsByteForByteTheLineFormattedOnItsOwn() throws {
        let buffer = AccessLogBuffer(capacity: 1 << 16, flushBytes: 1 << 20)
        var line = FormattedLogLine()
        for format in AccessLogConfiguration.Format.allCases {
            for (method, route, status, nanoseconds, id) in [
                ("GET", "/healthz", 200, UInt64(41_999), "abcd-0100000001"), ("PO\"ST", "/r\n", 404, 12_000_000_000, "x"),
            ] {
                // The time is to the millisecond: both are formatted within one millisecond, or tried again.
                var alone = ""
                var inRing = ""
                for _ in 0..<100 where alone.isEmpty || alone != inRing {
                    line.format(format, method: method, route: route, status: status, nanoseconds: nanoseconds, requestID: id)
                    alone = String(decoding: line.bytes, as: UTF8.self)
                    let wake = buffer.append(
                        format, method: method, route: route, status: status, nanoseconds: nanoseconds, requestID: id,
                        requestIDIsPlain: false)
                    #expect(!wake)
                    inRing = drained(buffer).text
                }
                #expect(alone == inRing)
                #expect(inRing.hasSuffix("\n") && inRing.filter { $0 == "\n" }.count == 1)
            }
        }
    }

    /// A small ring wraps many times; a line that passes its end is split in the ring and joined
    /// again by the drain.
    @Test func linesComeOutWholeAndInOrderAcrossTheRingsEnd() {
        let buffer = AccessLogBuffer(capacity: 4096, flushBytes: 1 << 20)
        #expect(buffer.capacity == 4096)
        var out = ""
        var expected: [String] = []
        for round in 0..<40 {
            for i in 0..<(round % 7 + 1) {
                let id = "id-\(round)-\(i)-" + String(repeating: "x", count: (round * 37 + i * 11) % 200)
                #expect(buffer.append(.text, method: "GET", route: "/r/{n}", status: 200 + i, nanoseconds: 1_000, requestID: id, requestIDIsPlain: true) == false)
                expected.append(" GET /r/{n} \(200 + i) 0.001ms \(id)")
            }
            let (text, dropped) = drained(buffer)
            #expect(dropped == 0)
            out += text
        }
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == expected.count)
        for (line, suffix) in zip(lines, expected) {
            #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z .*/) != nil)
            #expect(afterTime(line) == suffix[...])
        }
    }

    /// When the writer is behind, lines beyond the ring's size are dropped and counted (the event
    /// loop never waits), and the writer is asked to come; after a drain there is room again.
    @Test func aFullRingDropsAndCountsLinesUntilTheWriterDrainsIt() {
        let buffer = AccessLogBuffer(capacity: 4096, flushBytes: 1 << 20)
        var accepted = 0
        var dropped = 0
        for _ in 0..<200 {
            let wake = buffer.append(.text, method: "GET", route: "/healthz", status: 200, nanoseconds: 1, requestID: "abcd-0100000001", requestIDIsPlain: true)
            if wake { dropped += 1 } else { accepted += 1 }
        }
        #expect(accepted > 0 && dropped > 0 && accepted + dropped == 200)
        let first = drained(buffer)
        #expect(first.dropped == dropped)
        #expect(first.text.filter { $0 == "\n" }.count == accepted)
        #expect(first.text.utf8.count <= 4096)
        #expect(buffer.append(.text, method: "GET", route: "/healthz", status: 200, nanoseconds: 1, requestID: "a", requestIDIsPlain: true) == false)
        let second = drained(buffer)
        #expect(second.dropped == 0)
        #expect(second.text.hasSuffix(" GET /healthz 200 0.000ms a\n"))
    }

    /// The writer is woken once per `flushBytes` written, not on every line.
    @Test func theWriterIsAskedForAFlushOncePerFlushBytes() {
        let buffer = AccessLogBuffer(capacity: 1 << 16, flushBytes: 1000)
        var wakes = 0
        var written = 0
        for _ in 0..<500 {
            if buffer.append(.text, method: "GET", route: "/healthz", status: 200, nanoseconds: 1, requestID: "abcd-0100000001", requestIDIsPlain: true) {
                wakes += 1
            }
            written += drained(buffer).text.utf8.count
        }
        // Each wake follows at least 1000 bytes after the one before, and at most one line more.
        #expect(wakes <= written / 1000)
        #expect(wakes >= written / (1000 + 64))
        #expect(wakes > 10)
    }

    /// The time in a line is the clock's at that line, though the line's start is reused while
    /// the method, route and status repeat: lines formatted over several milliseconds each carry
    /// a time between the clock read before and after them.
    @Test func aReusedLineStartCarriesTheCurrentTime() {
        var line = FormattedLogLine()
        // The clock's time as a fresh line (nothing cached) shows it.
        func stamp() -> String {
            var fresh = FormattedLogLine()
            fresh.format(.text, method: "X", route: "/s", status: 1, nanoseconds: 0, requestID: "s")
            return String(String(decoding: fresh.bytes, as: UTF8.self).prefix(24))
        }
        let start = Date()
        var distinct = Set<String>()
        while Date().timeIntervalSince(start) < 0.05 {
            let before = stamp()
            line.format(.text, method: "GET", route: "/healthz", status: 200, nanoseconds: 0, requestID: "a")
            let after = stamp()
            let own = String(String(decoding: line.bytes, as: UTF8.self).prefix(24))
            #expect(before <= own && own <= after)
            distinct.insert(own)
        }
        #expect(distinct.count > 1)
    }
}
