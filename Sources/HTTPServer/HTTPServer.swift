import CMicroHTTPD
import CMicroHTTPDShims
import Foundation
import Logging
import Metrics
import Synchronization

/// How the daemon is run. Defaults suit many polling dashboards on a small machine
/// (see shared/notes/libmicrohttpd.md: epoll + a pool of one thread per core).
public struct HTTPServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port (tests); read `HTTPServer.port` after `start()`.
    public var port: UInt16 = 8080
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    /// Largest accepted request body; larger ones get 413 before or while reading.
    public var maxBodyBytes: Int = 1 << 20
    public var connectionLimit: Int = 1024
    /// Seconds of inactivity before an idle connection is closed.
    public var connectionTimeoutSeconds: Int = 30
    /// Per-connection memory pool; it also caps the size of the request headers (431 above it).
    public var connectionMemoryLimit: Int = 32 * 1024
    /// How long a graceful stop waits for requests in flight.
    public var drainTimeoutSeconds: Double = 10
    /// Threads that run the handlers that may block (durable writes, cohort computations), so that
    /// the event loops keep serving; and so that concurrent writers can share one synced commit.
    public var blockingWorkers: Int = 32

    public init() {}
}

public enum HTTPServerStartError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    case daemonDidNotStart(host: String, port: UInt16)

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): "Invalid server configuration: \(why)"
        case .daemonDidNotStart(let host, let port):
            "Could not listen on \(host):\(port) (address in use, or not an IPv4 address of this machine)."
        }
    }
}

/// An HTTP/1.1 server over libmicrohttpd. Requests are read whole (up to the body limit), then
/// handed to the responder on the daemon's pool thread; keep handlers short.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: `daemon` is written only by start()/stop(), which callers do not run concurrently.
    public let configuration: HTTPServerConfiguration
    let router: Router
    let logger: Logger
    private var daemon: OpaquePointer?
    /// Per-thread counters and caches of the daemon's event loops.
    let contexts = EventLoopContexts()
    let requestIDPrefix: UInt16
    let requestMetrics = RequestMetricTable()
    /// The access log is written at info level; the level is fixed at start, so it is checked once.
    let logsRequests: Bool
    lazy var workers = WorkerPool(threads: max(1, configuration.blockingWorkers))

    public init(configuration: HTTPServerConfiguration, router: Router, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.logsRequests = logger.logLevel <= .info
        self.requestIDPrefix = UInt16.random(in: 0...UInt16.max)
    }

    deinit {
        if let daemon { MHD_stop_daemon(daemon) }
    }

    /// The port the daemon listens on (resolved when the configuration asked for port 0).
    public private(set) var port: UInt16 = 0

    /// Open connections right now (idle keep-alive connections included).
    public var currentConnections: Int {
        guard let daemon else { return 0 }
        return Int(icmm_mhd_current_connections(daemon))
    }

    /// Brings `http_requests_total` and `http_request_duration_seconds` up to date: each event loop
    /// hands its observations to the metrics backend in batches. Call it before rendering metrics.
    public func flushRequestMetrics() { contexts.flushMetrics() }

    /// Requests begun and not yet completed: a graceful stop waits for this to reach zero.
    public var requestsInFlight: Int { contexts.inFlight }

    /// Starts listening. The corresponding C function is `MHD_start_daemon` (through `icmm_mhd_start`).
    public func start() throws(HTTPServerStartError) {
        // Request ids carry the thread's slot in two hex digits (see `EventLoopContext`).
        guard (1...256).contains(configuration.threads) else { throw .invalidConfiguration("threads must be between 1 and 256") }
        guard configuration.maxBodyBytes >= 0 else { throw .invalidConfiguration("max body must not be negative") }
        var flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        flags |= MHD_ALLOW_SUSPEND_RESUME.rawValue
        let context = Unmanaged.passUnretained(self).toOpaque()
        let started: OpaquePointer? = configuration.host.withCString { host in
            var config = icmm_mhd_config()
            config.flags = UInt32(flags)
            config.bind_address = host
            config.port = configuration.port
            config.thread_pool_size = UInt32(configuration.threads)
            config.connection_limit = UInt32(configuration.connectionLimit)
            config.connection_timeout = UInt32(configuration.connectionTimeoutSeconds)
            config.connection_memory_limit = configuration.connectionMemoryLimit
            config.access_handler = accessHandler
            config.access_context = context
            config.completed_handler = completedHandler
            config.completed_context = context
            return icmm_mhd_start(&config)
        }
        guard let started else { throw .daemonDidNotStart(host: configuration.host, port: configuration.port) }
        daemon = started
        port = icmm_mhd_bound_port(started)
        logger.info(
            "listening", metadata: ["host": "\(configuration.host)", "port": "\(port)", "threads": "\(configuration.threads)"])
    }

    /// Stops accepting connections, waits (bounded) for requests in flight, then stops the daemon.
    /// The corresponding C functions are `MHD_quiesce_daemon` and `MHD_stop_daemon`.
    public func stop() {
        guard let daemon else { return }
        let listenSocket = MHD_quiesce_daemon(daemon)
        let deadline = ContinuousClock.now + .milliseconds(Int(configuration.drainTimeoutSeconds * 1000))
        while requestsInFlight > 0 && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        let abandoned = requestsInFlight
        // A suspended connection must be resumed before the daemon stops: let running handlers finish.
        workers.waitUntilIdle()
        MHD_stop_daemon(daemon)
        if listenSocket >= 0 { close(listenSocket) }
        self.daemon = nil
        if abandoned > 0 {
            logger.warning("stopped with requests still in flight", metadata: ["requests": "\(abandoned)"])
        } else {
            logger.info("stopped")
        }
    }

    /// The request-duration histogram (seconds, by route): its label and bucket bounds, for the
    /// metrics factory (`PrometheusMetricsFactory.valueHistogramBuckets[label] = buckets`).
    public static let durationHistogram = (
        label: "http_request_duration_seconds", buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    )
}

/// Per-request state kept by libmicrohttpd between the calls of the access handler, for requests
/// that carry a body or run on a worker. A request without a body needs none: its start time
/// travels in the request pointer itself (see `BodilessRequest`).
final class RequestState: @unchecked Sendable {
    // @unchecked: a worker writes `pending` before it resumes the connection; libmicrohttpd calls
    // the access handler again only after that, on the connection's thread.
    let start: UInt64
    var bodyLimit = 0
    /// The response a worker computed for a suspended connection, queued when it is resumed.
    var pending: (response: HTTPResponse, requestID: String, method: HTTPMethod)?
    var suspended = false
    var body: [UInt8] = []
    var bodyTooLarge = false
    var answered = false

    init(start: UInt64) { self.start = start }
}

/// A request without a body (no Content-Length, no Transfer-Encoding: RFC 9112 section 6.3) is
/// complete when its headers are, so it needs no allocated state between the two calls of the
/// access handler: its per-request pointer holds the start time, tagged in the low bit (an object
/// pointer is aligned, its low bit is 0).
enum BodilessRequest {
    static func pointer(start: UInt64) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(start << 2) | 1)!
    }
    /// Set once answered, so that a stray later call does nothing.
    static var answered: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(3))! }

    /// What a per-request pointer holds.
    enum Kind {
        case state  // a retained `RequestState`
        case waiting(start: UInt64)
        case answered
    }

    static func kind(of pointer: UnsafeMutableRawPointer) -> Kind {
        let bits = UInt(bitPattern: pointer)
        if bits & 1 == 0 { return .state }
        return bits & 2 == 2 ? .answered : .waiting(start: UInt64(bits >> 2))
    }
}

/// CLOCK_MONOTONIC in nanoseconds: request durations without Duration's 128-bit arithmetic.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// A caller-supplied request id is echoed only when it is short and plain (it ends up in logs).
func usableRequestID(_ value: String?) -> String? {
    guard let value, !value.isEmpty, value.utf8.count <= 128 else { return nil }
    for byte in value.utf8 {
        let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
        if !ok { return nil }
    }
    return value
}

func connectionValues(_ connection: OpaquePointer, kind: MHD_ValueKind) -> [(String, String)] {
    // With no iterator, MHD only counts: most requests have no query string, skip the allocations then.
    guard MHD_get_connection_values(connection, kind, nil, nil) > 0 else { return [] }
    final class Box { var items: [(String, String)] = [] }
    let box = Box()
    let context = Unmanaged.passUnretained(box).toOpaque()
    _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
        guard let cls, let key else { return MHD_Result.YES }
        let box = Unmanaged<Box>.fromOpaque(cls).takeUnretainedValue()
        box.items.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
        return MHD_Result.YES
    }, context)
    return withExtendedLifetime(box) { box.items }
}

private func queue(_ response: borrowing HTTPResponse, requestID: String, on connection: OpaquePointer) -> MHD_Result {
    let mhdResponse: OpaquePointer? = response.body.withUnsafeBytes { buffer in
        MHD_create_response_from_buffer(
            buffer.count, UnsafeMutableRawPointer(mutating: buffer.baseAddress), MHD_ResponseMemoryMode.RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return MHD_Result.NO }
    // withCString passes a native string's own bytes; the implicit String-to-pointer conversion
    // would copy each name and value into a new array first.
    for (name, value) in response.headers {
        _ = name.withCString { n in value.withCString { v in MHD_add_response_header(mhdResponse, n, v) } }
    }
    // The server owns this header: handlers never set it.
    _ = requestID.withCString { MHD_add_response_header(mhdResponse, "X-Request-Id", $0) }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

private let accessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, _, uploadData, uploadDataSize, requestContext in
    guard let cls, let connection, let requestContext else { return MHD_Result.NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    let context = server.contexts.current

    // First call: headers only. Refuse a declared oversize body before reading it.
    guard let stored = requestContext.pointee else {
        let start = monotonicNanoseconds()
        context.requestBegan()
        let declared = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Content-Length")
        guard declared != nil || MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Transfer-Encoding") != nil
        else {
            // No body. Answer on the next call all the same: a response queued now would make
            // libmicrohttpd close the connection (it cannot know the request was complete).
            requestContext.pointee = BodilessRequest.pointer(start: start)
            return MHD_Result.YES
        }
        let state = RequestState(start: start)
        requestContext.pointee = Unmanaged.passRetained(state).toOpaque()
        let httpMethod = method.map { HTTPMethod(cString: $0) } ?? .get
        state.bodyLimit =
            url.flatMap { server.router.bodyLimit(method: httpMethod, path: String(cString: $0)) } ?? server.configuration.maxBodyBytes
        if let declared, let length = Int(String(cString: declared).trimmingASCIISpaces()), length > state.bodyLimit {
            state.answered = true
            return server.answer(
                HTTPServerError.payloadTooLarge(limit: state.bodyLimit).response, method: httpMethod,
                requestID: context.nextRequestID(prefix: server.requestIDPrefix), start: start, context: context,
                connection: connection)
        }
        return MHD_Result.YES
    }
    switch BodilessRequest.kind(of: stored) {
    case .state: break
    case .answered: return MHD_Result.YES
    case .waiting(let start):
        // The final call of a request without a body (upload data cannot come: none was declared).
        requestContext.pointee = BodilessRequest.answered
        return server.handle(
            method: method.map { HTTPMethod(cString: $0) } ?? .get, url: url, start: start, body: [], state: nil,
            requestContext: requestContext, context: context, connection: connection)
    }
    let state = Unmanaged<RequestState>.fromOpaque(stored).takeUnretainedValue()
    if state.suspended {
        // Called again after MHD_resume_connection: the worker left the response.
        guard let pending = state.pending else { return MHD_Result.YES }
        state.suspended = false
        state.pending = nil
        return server.answer(
            pending.response, method: pending.method, requestID: pending.requestID, start: state.start, context: context,
            connection: connection)
    }
    if state.answered { return MHD_Result.YES }

    // Upload chunks: append (or drop once over the limit); a response may not be queued here.
    if let uploadDataSize, uploadDataSize.pointee > 0 {
        let size = uploadDataSize.pointee
        if !state.bodyTooLarge, let uploadData {
            if state.body.count + size > state.bodyLimit {
                state.bodyTooLarge = true
                state.body = []
            } else {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { bytes in
                    state.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: size))
                }
            }
        }
        uploadDataSize.pointee = 0
        return MHD_Result.YES
    }

    // Final call: the whole body is here.
    state.answered = true
    let httpMethod = method.map { HTTPMethod(cString: $0) } ?? .get
    if state.bodyTooLarge {
        return server.answer(
            HTTPServerError.payloadTooLarge(limit: state.bodyLimit).response, method: httpMethod,
            requestID: context.nextRequestID(prefix: server.requestIDPrefix), start: state.start, context: context,
            connection: connection)
    }
    let body = state.body
    state.body = []
    return server.handle(
        method: httpMethod, url: url, start: state.start, body: body, state: state, requestContext: requestContext, context: context,
        connection: connection)
}

private let completedHandler: MHD_RequestCompletedCallback = { cls, _, requestContext, _ in
    guard let cls, let requestContext, let stored = requestContext.pointee else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    if case .state = BodilessRequest.kind(of: stored) { Unmanaged<RequestState>.fromOpaque(stored).release() }
    requestContext.pointee = nil
    // Called on the thread that owns the connection, the one that counted the request in.
    server.contexts.current.requestCompleted()
}

extension HTTPServer {
    /// Routes a complete request and answers it, here or (for routes that may block) from a worker.
    fileprivate func handle(
        method: HTTPMethod, url: UnsafePointer<CChar>?, start: UInt64, body: [UInt8], state: RequestState?,
        requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>, context: EventLoopContext, connection: OpaquePointer
    ) -> MHD_Result {
        let headers = context.liveHeaders.attach(connection)
        defer { context.liveHeaders.detach() }
        let path = url.map { String(cString: $0) } ?? "/"
        let match = router.match(method, path: path)
        var parameters: [String: String] = [:]
        var pattern: String?
        var mayBlock = false
        if case .found(let route, let found) = match {
            parameters = found
            pattern = route.pattern
            mayBlock = route.mayBlock
        }
        let query = QueryParameters(
            connectionValues(connection, kind: MHD_ValueKind.GET_ARGUMENT_KIND).map { (name: $0.0, value: $0.1) })
        let requestID = usableRequestID(headers["X-Request-Id"]) ?? context.nextRequestID(prefix: requestIDPrefix)
        let connectionBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
        guard mayBlock else {
            var request = HTTPRequest(
                method: method, path: path, query: query, headers: headers, body: body, requestID: requestID, pathParameters: parameters,
                route: pattern)
            request.connectionBits = connectionBits
            let response = router.respond(to: request, match: match)
            return answer(response, method: method, requestID: requestID, start: start, context: context, connection: connection)
        }
        // Run it on a worker: the header lookup must not outlive this call, so the headers are copied.
        var detached = HTTPRequest(
            method: method, path: path, query: query, headers: HTTPHeaders(headers.fields.map { ($0.name, $0.value) }), body: body,
            requestID: requestID, pathParameters: parameters, route: pattern)
        detached.connectionBits = connectionBits  // suspended, not closed, until the worker resumes it
        let state = state ?? {
            // A request without a body gets its state now: the worker leaves the response there.
            let made = RequestState(start: start)
            made.answered = true
            requestContext.pointee = Unmanaged.passRetained(made).toOpaque()
            return made
        }()
        state.suspended = true
        MHD_suspend_connection(connection)
        let router = router
        workers.run { [detached] in
            let response = router.respond(to: detached, match: match)
            state.pending = (response, requestID, method)
            // The corresponding C function may be called from any thread (MHD_ALLOW_SUSPEND_RESUME).
            MHD_resume_connection(OpaquePointer(bitPattern: connectionBits))
        }
        return MHD_Result.YES
    }

    /// Queues the response with the request id, writes the access-log line and records metrics.
    fileprivate func answer(
        _ response: consuming HTTPResponse, method: HTTPMethod, requestID: String, start: UInt64, context: EventLoopContext,
        connection: OpaquePointer
    ) -> MHD_Result {
        let result = queue(response, requestID: requestID, on: connection)
        let nanoseconds = monotonicNanoseconds() &- start
        let route = response.route ?? "unmatched"
        context.recordRequest(
            route: route, method: method.rawValue, status: response.status, nanoseconds: nanoseconds, shared: requestMetrics)
        if logsRequests {
            logger.info(
                "request",
                metadata: [
                    "method": "\(method.rawValue)", "route": "\(route)", "status": "\(response.status)",
                    "duration_ms": "\(Double(nanoseconds) / 1e6)", "request_id": "\(requestID)",
                ])
        }
        return result
    }
}

/// A fixed set of threads for handlers that may block. Fixed, not Dispatch's pool, so that many
/// writers waiting on the disk cannot make the process start hundreds of threads.
final class WorkerPool: @unchecked Sendable {
    // @unchecked: `jobs` and `busy` are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var busy = 0

    init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.loop() }
            thread.name = "icmm-worker-\(index)"
            thread.start()
        }
    }

    func run(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Returns when no job is queued or running (bounded by the caller's drain, not here).
    func waitUntilIdle() {
        condition.lock()
        while !jobs.isEmpty || busy > 0 { condition.wait(until: Date().addingTimeInterval(0.05)) }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            busy += 1
            condition.unlock()
            job()
            condition.lock()
            busy -= 1
            condition.broadcast()
            condition.unlock()
        }
    }
}

extension HTTPRequest {
    /// The peer's IP address as text; nil for a request made in process.
    public var clientAddress: String? {
        guard let connection = OpaquePointer(bitPattern: connectionBits) else { return nil }
        var buffer = [CChar](repeating: 0, count: 64)
        guard icmm_mhd_client_address(connection, &buffer, buffer.count) == 0 else { return nil }
        return String(cString: buffer)
    }
}
