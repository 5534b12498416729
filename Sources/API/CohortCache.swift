import Foundation
import HTTPServer
import Prometheus
import Synchronization

/// Computed cohort responses by canonical query, good while the data version is the same.
/// Bounded by bytes (bodies and keys), least recently used first out; hits, misses and evictions
/// are counted in `/metrics` (issue 11).
final class CohortCache: Sendable {
    struct Entry {
        let dataVersion: Int
        let response: HTTPResponse
        let bytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Largest total size kept, in bytes (0: nothing is cached).
    let maxBytes: Int
    private let hits: Counter
    private let misses: Counter
    private let evictions: Counter
    private let size: Gauge

    init(maxBytes: Int, metrics: PrometheusCollectorRegistry) {
        self.maxBytes = maxBytes
        hits = metrics.makeCounter(name: "cohort_cache_hits_total", help: "Cohort queries answered from the cache.")
        misses = metrics.makeCounter(name: "cohort_cache_misses_total", help: "Cohort queries computed (not in the cache, or stale).")
        evictions = metrics.makeCounter(
            name: "cohort_cache_evictions_total", help: "Cohort responses dropped, least recently used first, to stay within the byte bound.")
        size = metrics.makeGauge(name: "cohort_cache_bytes", help: "Bytes held by the cohort cache (bodies and keys).")
    }

    /// - Parameter countingMiss: false for a look on the event loop whose miss the worker counts.
    func get(_ key: String, dataVersion: Int, countingMiss: Bool = true) -> HTTPResponse? {
        let response: HTTPResponse? = state.withLock { state in
            guard var entry = state.entries[key], entry.dataVersion == dataVersion else { return nil }
            state.clock &+= 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.response
        }
        if response != nil { hits.increment() } else if countingMiss { misses.increment() }
        return response
    }

    func put(_ key: String, dataVersion: Int, response: HTTPResponse) {
        // Headers are a few hundred bytes; the body and the key dominate.
        let bytes = response.body.count + key.utf8.count + 512
        guard bytes <= maxBytes else { return }
        let (evicted, total) = state.withLock { state -> (Int, Int) in
            // Entries of older data versions can never be served again.
            if state.entries.values.contains(where: { $0.dataVersion < dataVersion }) {
                for (oldKey, entry) in state.entries where entry.dataVersion < dataVersion {
                    state.entries.removeValue(forKey: oldKey)
                    state.bytes -= entry.bytes
                }
            }
            if let previous = state.entries.removeValue(forKey: key) { state.bytes -= previous.bytes }
            var evicted = 0
            while state.bytes + bytes > maxBytes, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.entries.removeValue(forKey: oldest.key)
                state.bytes -= oldest.value.bytes
                evicted += 1
            }
            state.clock &+= 1
            state.entries[key] = Entry(dataVersion: dataVersion, response: response, bytes: bytes, lastUse: state.clock)
            state.bytes += bytes
            return (evicted, state.bytes)
        }
        if evicted > 0 { evictions.increment(by: Int64(evicted)) }
        size.set(Double(total))
    }

    /// Entries and bytes held (tests).
    var usage: (entries: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }
}
