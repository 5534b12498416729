import CMicroHTTPD
import CMicroHTTPDShims
import Foundation
import Metrics
import Synchronization

/// What one event-loop thread of the daemon keeps for itself: its request-id counter, its count of
/// requests in flight, and the metric handles it has used. libmicrohttpd runs every callback of a
/// connection on the thread that owns it, so the common request touches no memory another thread
/// writes: no shared counter, no lock, no hashing (shared counters cost a cache-line transfer
/// between cores on every request).
final class EventLoopContext: @unchecked Sendable {
    // @unchecked: `requestCounter` is used only by the owning thread; the in-flight count is atomic
    // because `HTTPServer.stop()` reads it, the unpublished metrics are behind a Mutex because
    // `/metrics` flushes them from another thread.
    //
    // @exclusivity(unchecked) on the owning thread's fields: Swift checks every access to a class's
    // stored property at run time (about 60 instructions each, several per request), to catch an
    // overlapping access on the same thread. These are touched only by this event loop, each access
    // a short non-reentrant one (no callback runs while one is open), so the check cannot fire.

    /// Keeps this thread's fields off the cache lines of whatever the allocator put next to it
    /// (the contexts are made one after the other, on one thread: see `CacheLinePadding`).
    private let leadingPadding = CacheLinePadding()
    /// Distinguishes the ids made by this thread from those of the others (see `nextRequestID`).
    let slot: UInt8
    @exclusivity(unchecked) private var requestCounter: UInt32 = 0
    /// Requests begun on this thread and not yet completed, read by `HTTPServer.stop()`. An atomic
    /// add rather than a plain store: when the daemon stops, a completion may come from another thread.
    private let inFlightCount = Atomic<Int>(0)
    var inFlight: Int { inFlightCount.load(ordering: .acquiring) }
    func requestBegan() { inFlightCount.wrappingAdd(1, ordering: .releasing) }
    func requestCompleted() { inFlightCount.wrappingSubtract(1, ordering: .releasing) }
    /// This thread's access-log lines, formatted straight into it and collected by the log's writer
    /// thread; nil when the log is off.
    private let accessLogBuffer: AccessLogBuffer?
    private let accessLog: AccessLog
    /// Request states of completed requests, reused: a request allocates none in the common case.
    @exclusivity(unchecked) private var freeStates: [RequestState] = []

    /// The access log's format, read once (the configuration holds a path string: copying it out
    /// per request costs a retain and a release).
    private let accessLogFormat: AccessLogConfiguration.Format

    /// The server's metric handles and duration histograms, which this thread's counts reach when
    /// they are published.
    private let metrics: RequestMetricTable
    /// `RequestDurationHistograms.boundsNanoseconds`, this thread's own copy (no lazy global read
    /// per request).
    private let durationBounds: [UInt64] = RequestDurationHistograms.boundsNanoseconds

    init(slot: UInt8, accessLog: AccessLog, metrics: RequestMetricTable) {
        self.slot = slot
        self.accessLog = accessLog
        self.metrics = metrics
        accessLogBuffer = accessLog.isEnabled ? accessLog.makeBuffer() : nil
        accessLogFormat = accessLog.configuration.format
    }

    /// Requests of this thread handed to a worker, until their completion notice. Only this
    /// thread and a stop take the lock: `MHD_stop_daemon` aborts the process while a connection is
    /// suspended, so a stop must find those whose worker outlived the drain.
    private let dispatched = Mutex<[ObjectIdentifier: (state: RequestState, connection: UInt)]>([:])

    func rememberDispatched(_ state: RequestState, connection: OpaquePointer) {
        let bits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
        dispatched.withLock { $0[ObjectIdentifier(state)] = (state, bits) }
    }

    func forgetDispatched(_ state: RequestState) {
        _ = dispatched.withLock { $0.removeValue(forKey: ObjectIdentifier(state)) }
    }

    /// Calls `body` with each request handed to a worker and not yet completed, holding the lock
    /// that its completion notice (after which libmicrohttpd frees the connection) must take.
    func forEachDispatched(_ body: (RequestState, OpaquePointer) -> Void) {
        dispatched.withLock { entries in
            for (state, connection) in entries.values { body(state, OpaquePointer(bitPattern: connection)!) }
        }
    }

    /// A cleared request state, retained once for libmicrohttpd's per-request pointer (the free
    /// list's reference passes to it).
    func takeState(start: UInt64) -> Unmanaged<RequestState> {
        let state = freeStates.popLast() ?? RequestState()
        state.start = start
        return Unmanaged.passRetained(state)
    }

    /// Takes back the state of a completed request (unless a worker may still write to it),
    /// with libmicrohttpd's reference, which passes to the free list.
    func recycle(_ state: consuming RequestState) {
        guard freeStates.count < 64 else { return }
        state.reset()
        freeStates.append(state)
    }

    /// Formats the request's line into this thread's log ring; the writer thread does the I/O.
    /// `requestID` is a request's own (`RequestState.request.requestID`): generated, or a client's that
    /// passed `usableRequestID`, so it has only characters a log line carries as they are.
    func logRequest(method: String, route: String, status: Int, nanoseconds: UInt64, requestID: String) {
        guard let accessLogBuffer else { return }
        let wakeWriter = accessLogBuffer.append(
            accessLogFormat, method: method, route: route, status: status, nanoseconds: nanoseconds, requestID: requestID,
            requestIDIsPlain: true)
        if wakeWriter { accessLog.requestFlush() }
    }

    /// `pppp-ssnnnnnnnn`: the process's 4 random hex digits, this thread's slot and its own counter.
    /// At 15 bytes it is a Swift small string, so making one allocates nothing.
    func nextRequestID(prefix: UInt16) -> String {
        requestCounter &+= 1
        let n = requestCounter
        let slot = slot
        return String(unsafeUninitializedCapacity: 15) { buffer in
            let digits: StaticString = "0123456789abcdef"
            let hex = digits.utf8Start  // read once: each read checks the string's representation
            for i in 0..<4 { buffer[i] = hex[Int((prefix >> UInt16(12 - 4 * i)) & 0xF)] }
            buffer[4] = 0x2D  // "-"
            buffer[5] = hex[Int(slot >> 4)]
            buffer[6] = hex[Int(slot & 0xF)]
            for i in 0..<8 { buffer[7 + i] = hex[Int((n >> UInt32(28 - 4 * i)) & 0xF)] }
            return 15
        }
    }

    /// Records one answered request: a count for its (route, method, status) and its duration in
    /// a bucket, in this thread's own tallies. They reach the shared counter and histogram when
    /// `/metrics` is read (`flushMetrics`) or the server stops, so that the two cores do not pass
    /// those cache lines back and forth on every request.
    func recordRequest(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let bucket = durationBounds.withUnsafeBufferPointer { RequestDurationHistograms.bucket(ofNanoseconds: nanoseconds, bounds: $0) }
        unpublished.withLock { unpublished in
            let index = unpublished.index(route: route, method: method, status: status, metrics: metrics)
            unpublished.series[index].requests += 1
            unpublished.series[index].sumNanoseconds &+= nanoseconds
            unpublished.buckets[index &* RequestDurationHistograms.bucketCount &+ bucket] += 1
        }
    }

    /// Hands this thread's tallies to the metrics backend and the duration histograms (any thread
    /// may call it).
    func flushMetrics() { unpublished.withLock { $0.publish(to: metrics) } }

    /// What this thread counted and has not yet published, per (route, method, status) it answered.
    private let unpublished = Mutex<UnpublishedMetrics>(UnpublishedMetrics())
    private let trailingPadding = CacheLinePadding()
}

/// 128 bytes of nothing, first and last in an object that one event loop writes on every request
/// (its context, its log buffer, its request states). Objects allocated one after the other share
/// cache lines: without padding, the two event loops' objects would pass those lines back and
/// forth between the cores on every request (false sharing, which no instruction count shows).
/// 128 rather than 64: the processor also fetches the neighbouring line of a pair.
struct CacheLinePadding {
    private let words: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// One event loop's request counts and duration buckets not yet published, one entry per series
/// it has answered (the list is kept between publications: finding a series is a short scan).
private struct UnpublishedMetrics {
    struct Series {
        /// Unretained: the shared table keeps every handle for the life of the server, and
        /// retaining one (an atomic write on a shared object) per request is what this avoids.
        let handles: Unmanaged<RequestMetricHandles>
        var requests: Int64 = 0
        var sumNanoseconds: UInt64 = 0
    }
    var series: [Series] = []
    /// `RequestDurationHistograms.bucketCount` per-bucket counts per series, in the order of `series`.
    var buckets: [Int64] = []

    /// The index of the series, added when new.
    mutating func index(route: String, method: String, status: Int, metrics: RequestMetricTable) -> Int {
        var index = 0
        while index < series.count {
            let matches = series[index].handles._withUnsafeGuaranteedRef { $0.status == status && $0.route == route && $0.method == method }
            if matches { return index }
            index += 1
        }
        // Bounded: a client probing many odd methods must not grow the list without end.
        if series.count >= 64 {
            publish(to: metrics)
            series.removeAll(keepingCapacity: true)
            buckets.removeAll(keepingCapacity: true)
        }
        series.append(Series(handles: Unmanaged.passUnretained(metrics.handles(route: route, method: method, status: status))))
        buckets.append(contentsOf: repeatElement(0, count: RequestDurationHistograms.bucketCount))
        return series.count - 1
    }

    /// Adds the counts to the shared counters and histograms and zeroes them.
    mutating func publish(to metrics: RequestMetricTable) {
        let width = RequestDurationHistograms.bucketCount
        for index in series.indices where series[index].requests > 0 {
            let handles = series[index].handles.takeUnretainedValue()
            handles.counter.increment(by: series[index].requests)
            metrics.durations.add(
                route: handles.route, buckets: buckets[index * width..<(index + 1) * width], sumNanoseconds: series[index].sumNanoseconds)
            series[index].requests = 0
            series[index].sumNanoseconds = 0
            for bucket in index * width..<(index + 1) * width { buckets[bucket] = 0 }
        }
    }
}

/// Metric handles per (route, method, status), made once and shared by the threads: creating
/// swift-metrics handles on every request would cost more than serving `/healthz` itself. Handles
/// are never removed, so the threads may refer to them unretained.
final class RequestMetricTable: Sendable {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let table = Mutex<[Key: RequestMetricHandles]>([:])
    /// `http_request_duration_seconds`, by route.
    let durations = RequestDurationHistograms()

    func handles(route: String, method: String, status: Int) -> RequestMetricHandles {
        let key = Key(route: route, method: method, status: status)
        return table.withLock { table in
            if let existing = table[key] { return existing }
            let made = RequestMetricHandles(route: route, method: method, status: status)
            table[key] = made
            return made
        }
    }
}

/// `http_requests_total{route,method,status}`: the backend's handler itself (its calls are not
/// generic, unlike those of the `Counter` wrapper, which this code would never unregister anyway).
/// The durations go to `RequestDurationHistograms`.
final class RequestMetricHandles: Sendable {
    let route: String
    let method: String
    let status: Int
    let counter: any CounterHandler

    init(route: String, method: String, status: Int) {
        self.route = route
        self.method = method
        self.status = status
        counter = MetricsSystem.factory.makeCounter(
            label: "http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))])
    }
}

/// The event-loop contexts of one server, made in `start()`, one per daemon thread. Each daemon
/// thread takes its own on its first callback and finds it again through a C thread-local pointer.
final class EventLoopContexts: Sendable {
    private let all: [EventLoopContext]
    /// The next context to hand to a daemon thread that has none yet.
    private let next = Atomic<Int>(0)
    /// Made only if libmicrohttpd ran more threads than it was asked to (it does not).
    private let extra: Mutex<[EventLoopContext]>
    private let accessLog: AccessLog
    private let metrics: RequestMetricTable

    init(threads: Int, accessLog: AccessLog, metrics: RequestMetricTable) {
        self.accessLog = accessLog
        self.metrics = metrics
        all = (0..<threads).map { EventLoopContext(slot: UInt8(truncatingIfNeeded: $0), accessLog: accessLog, metrics: metrics) }
        extra = Mutex([])
    }

    /// The calling thread's context. A daemon thread serves one daemon all its life and ends
    /// with it, so the pointer it holds is this server's.
    /// Unretained: kept by `all` (or `extra`) for as long as the server runs.
    var current: Unmanaged<EventLoopContext> {
        if let stored = icmm_thread_context_get() { return Unmanaged<EventLoopContext>.fromOpaque(stored) }
        let index = next.add(1, ordering: .relaxed).oldValue
        let context =
            index < all.count
            ? all[index]
            : extra.withLock { extra in
                let made = EventLoopContext(slot: UInt8(truncatingIfNeeded: index), accessLog: accessLog, metrics: metrics)
                extra.append(made)
                return made
            }
        icmm_thread_context_set(Unmanaged.passUnretained(context).toOpaque())
        return Unmanaged.passUnretained(context)
    }

    private var every: [EventLoopContext] { all + extra.withLock { $0 } }

    /// Every thread's requests handed to a worker and not yet completed (see `EventLoopContext`).
    func forEachDispatched(_ body: (RequestState, OpaquePointer) -> Void) {
        for context in every { context.forEachDispatched(body) }
    }

    /// Hands every thread's counts to the metrics backend and the histograms (before a scrape).
    func flushMetrics() {
        for context in every { context.flushMetrics() }
    }

    /// Requests begun and not yet completed, over every thread.
    var inFlight: Int { every.reduce(0) { $0 + $1.inFlight } }
}
