import Foundation
@testable import HTTPServer
import Prometheus
import Testing

/// `http_request_duration_seconds` is the HTTP layer's own histogram (counted per event loop,
/// merged at a scrape): its text must be what swift-prometheus writes for the same durations.
@Suite struct RequestDurationHistogramTests {
    /// Durations on and just past each bucket bound, at zero, and past the last bound, recorded on
    /// two event loops, against one swift-prometheus histogram fed the same durations in seconds.
    @Test func rendersWhatSwiftPrometheusRendersForTheSameDurations() throws {
        var durations: [UInt64] = [0, 1, 999_999, 60_000_000_000, 10_000_000_001]
        for bound in HTTPServer.durationHistogram.buckets {
            let nanoseconds = UInt64((bound * 1e9).rounded())
            durations += [nanoseconds, nanoseconds + 1, nanoseconds - 1]
        }
        let accessLog = try AccessLog(configuration: {
            var configuration = AccessLogConfiguration()
            configuration.destination = .off
            return configuration
        }())
        let table = RequestMetricTable()
        let loops = [
            EventLoopContext(slot: 0, accessLog: accessLog, metrics: table),
            EventLoopContext(slot: 1, accessLog: accessLog, metrics: table),
        ]
        let registry = PrometheusCollectorRegistry()
        let reference = registry.makeValueHistogram(
            name: HTTPServer.durationHistogram.label, labels: [("route", "/v1/cases/{external_id}")],
            buckets: HTTPServer.durationHistogram.buckets, help: "")
        for (index, nanoseconds) in durations.enumerated() {
            // Two methods and statuses of one route: separate counters, one histogram.
            loops[index % 2].recordRequest(
                route: "/v1/cases/{external_id}", method: index % 3 == 0 ? "GET" : "HEAD", status: index % 5 == 0 ? 404 : 200,
                nanoseconds: nanoseconds)
            reference.record(Double(nanoseconds) / 1e9)
            if index == durations.count / 2 { loops[0].flushMetrics() }  // a scrape in between: counted once
        }
        for loop in loops { loop.flushMetrics() }

        var ours: [UInt8] = []
        table.durations.render(into: &ours)
        var theirs: [UInt8] = []
        registry.emit(into: &theirs)
        let ourLines = String(decoding: ours, as: UTF8.self).split(separator: "\n")
        let theirLines = String(decoding: theirs, as: UTF8.self).split(separator: "\n")
        #expect(ourLines.count == HTTPServer.durationHistogram.buckets.count + 4)
        #expect(ourLines.count == theirLines.count)
        for (our, their) in zip(ourLines, theirLines) {
            if our.contains("_sum{") {
                // Ours adds whole nanoseconds and divides once; swift-prometheus adds seconds one
                // by one: the same sum up to the last bits of a double.
                let name = our.split(separator: " ")[0]
                #expect(name == their.split(separator: " ")[0])
                let a = try #require(Double(our.split(separator: " ")[1]))
                let b = try #require(Double(their.split(separator: " ")[1]))
                #expect(abs(a - b) <= 1e-12 * max(1, abs(b)))
            } else {
                #expect(our == their)
            }
        }
        #expect(ourLines.last == #"http_request_duration_seconds_count{route="/v1/cases/{external_id}"} \#(durations.count)"#)
    }

    @Test func nothingBeforeTheFirstRequest() {
        var buffer: [UInt8] = []
        RequestDurationHistograms().render(into: &buffer)
        #expect(buffer.isEmpty)
    }

    /// A label value that needs escaping (a route is the server's own pattern, but the text format
    /// must hold whatever it is given).
    @Test func escapesTheRouteLabel() {
        let histograms = RequestDurationHistograms()
        var counts = Array(repeating: Int64(0), count: RequestDurationHistograms.bucketCount)
        counts[0] = 2
        histograms.add(route: "/a\"b\\c\nd", buckets: counts[...], sumNanoseconds: 3)
        var buffer: [UInt8] = []
        histograms.render(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#"http_request_duration_seconds_count{route="/a\"b\\c\nd"} 2"#))
        #expect(text.hasPrefix("# TYPE http_request_duration_seconds histogram\n"))
    }
}
