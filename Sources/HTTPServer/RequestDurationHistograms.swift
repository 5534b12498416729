import Synchronization

/// `http_request_duration_seconds{route}`: the HTTP layer's own histogram, with the buckets, the
/// series and the text swift-prometheus would give it, rendered by `/metrics` after the registry's
/// metrics. Its own because swift-prometheus records one observation at a time, under a lock,
/// over every bucket (about 400 instructions per request, issue 11): here each event loop counts
/// into fixed buckets of its own (`EventLoopContext.recordRequest`), and the counts are added up
/// here only when `/metrics` is read or the server stops.
public final class RequestDurationHistograms: Sendable {
    /// The upper bounds in seconds, as `/metrics` names them (`le`).
    static let bounds: [Double] = HTTPServer.durationHistogram.buckets
    /// The same bounds in nanoseconds: a duration falls in the first bucket whose bound is at least
    /// as large. For these bounds `ns <= bound * 1e9` is exactly `Double(ns) / 1e9 <= bound`.
    static let boundsNanoseconds: [UInt64] = bounds.map { UInt64(($0 * 1e9).rounded()) }
    /// One count per bound, and one for durations above the last bound (`+Inf` only).
    static let bucketCount = bounds.count + 1

    /// The bucket a duration falls in (not cumulative: each duration is counted in one bucket).
    @inline(__always)
    static func bucket(ofNanoseconds nanoseconds: UInt64, bounds: UnsafeBufferPointer<UInt64>) -> Int {
        var index = 0
        while index < bounds.count && nanoseconds > bounds[index] { index += 1 }
        return index
    }

    struct Totals {
        /// Per bucket, not cumulative (`bucketCount` entries).
        var buckets: [Int64]
        /// Whole nanoseconds: an exact sum, however many requests.
        var sumNanoseconds: UInt64
    }

    private let routes = Mutex<[String: Totals]>([:])

    /// Adds one event loop's counts for a route (`buckets`: `bucketCount` per-bucket counts).
    func add(route: String, buckets: ArraySlice<Int64>, sumNanoseconds: UInt64) {
        routes.withLock { routes in
            var totals = routes[route] ?? Totals(buckets: Array(repeating: 0, count: Self.bucketCount), sumNanoseconds: 0)
            for (offset, count) in buckets.enumerated() { totals.buckets[offset] += count }
            totals.sumNanoseconds &+= sumNanoseconds
            routes[route] = totals
        }
    }

    /// Per route: the cumulative counts for each bound and `+Inf`, and the sum in seconds.
    public var snapshot: [(route: String, cumulative: [Int64], sumSeconds: Double)] {
        routes.withLock { $0 }.sorted { $0.key < $1.key }.map { route, totals in
            var running: Int64 = 0
            let cumulative = totals.buckets.map { count in
                running += count
                return running
            }
            return (route, cumulative, Double(totals.sumNanoseconds) / 1e9)
        }
    }

    /// Appends the histogram in the Prometheus text format, as swift-prometheus writes one
    /// (`# TYPE`, then per route its buckets, `_sum` and `_count`); nothing before the first request.
    public func render(into buffer: inout [UInt8]) {
        let name = HTTPServer.durationHistogram.label
        let series = snapshot
        guard !series.isEmpty else { return }
        buffer.append(contentsOf: "# TYPE \(name) histogram\n".utf8)
        for (route, cumulative, sum) in series {
            var label: [UInt8] = Array(#"route=""#.utf8)
            appendEscapedLabelValue(route, to: &label)
            label.append(UInt8(ascii: "\""))
            for (index, bound) in Self.bounds.enumerated() {
                buffer.append(contentsOf: "\(name)_bucket{".utf8)
                buffer.append(contentsOf: label)
                buffer.append(contentsOf: #",le="\#(bound.description)"} \#(cumulative[index])"#.utf8)
                buffer.append(UInt8(ascii: "\n"))
            }
            let count = cumulative[cumulative.count - 1]
            buffer.append(contentsOf: "\(name)_bucket{".utf8)
            buffer.append(contentsOf: label)
            buffer.append(contentsOf: #",le="+Inf"} \#(count)"#.utf8)
            buffer.append(UInt8(ascii: "\n"))
            buffer.append(contentsOf: "\(name)_sum{".utf8)
            buffer.append(contentsOf: label)
            buffer.append(contentsOf: "} \(sum.description)\n".utf8)
            buffer.append(contentsOf: "\(name)_count{".utf8)
            buffer.append(contentsOf: label)
            buffer.append(contentsOf: "} \(count)\n".utf8)
        }
    }

    /// Backslash, double quote and line feed escaped, as the text format requires.
    private func appendEscapedLabelValue(_ value: String, to buffer: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\""): buffer.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\n"): buffer.append(contentsOf: #"\n"#.utf8)
            default: buffer.append(byte)
            }
        }
    }
}
