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
    let responder: any Responder
    let logger: Logger
    private var daemon: OpaquePointer?
    /// Requests begun and not yet completed: a graceful stop waits for this to reach zero.
    let inFlight = Atomic<Int>(0)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestIDPrefix: UInt16
    let requestMetrics = RequestMetrics()
    lazy var workers = WorkerPool(threads: max(1, configuration.blockingWorkers))

    public init(configuration: HTTPServerConfiguration, responder: any Responder, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
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

    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Starts listening. The corresponding C function is `MHD_start_daemon` (through `icmm_mhd_start`).
    public func start() throws(HTTPServerStartError) {
        guard configuration.threads >= 1 else { throw .invalidConfiguration("threads must be at least 1") }
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
        while inFlight.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        let abandoned = inFlight.load(ordering: .acquiring)
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

    /// `pppp-nnnnnnnnnn`: 4 hex digits that differ between runs and a 40-bit counter. At 15 bytes it
    /// is a Swift small string, so making one allocates nothing.
    func nextRequestID() -> String {
        let n = requestCounter.wrappingAdd(1, ordering: .relaxed).newValue
        let prefix = requestIDPrefix
        return String(unsafeUninitializedCapacity: 15) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<4 { buffer[i] = digits.utf8Start[Int((prefix >> UInt16(12 - 4 * i)) & 0xF)] }
            buffer[4] = 0x2D  // "-"
            for i in 0..<10 { buffer[5 + i] = digits.utf8Start[Int((n >> UInt64(36 - 4 * i)) & 0xF)] }
            return 15
        }
    }
}

/// Per-request state kept by libmicrohttpd between the calls of the access handler.
final class RequestState: @unchecked Sendable {
    // @unchecked: a worker writes `pending` before it resumes the connection; libmicrohttpd calls
    // the access handler again only after that, on the connection's thread.
    let start = ContinuousClock.now
    var bodyLimit = 0
    /// The response a worker computed for a suspended connection, queued when it is resumed.
    var pending: (response: HTTPResponse, requestID: String, method: String)?
    var suspended = false
    var body: [UInt8] = []
    var bodyTooLarge = false
    var answered = false
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

private func connectionValues(_ connection: OpaquePointer, kind: MHD_ValueKind) -> [(String, String)] {
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

private func queue(_ response: HTTPResponse, method: String, on connection: OpaquePointer) -> MHD_Result {
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
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

private let accessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, _, uploadData, uploadDataSize, requestContext in
    guard let cls, let connection, let requestContext else { return MHD_Result.NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()

    // First call: headers only. Allocate state; refuse a declared oversize body before reading it.
    guard let stored = requestContext.pointee else {
        let state = RequestState()
        requestContext.pointee = Unmanaged.passRetained(state).toOpaque()
        server.inFlight.wrappingAdd(1, ordering: .relaxed)
        state.bodyLimit = server.configuration.maxBodyBytes
        if let declared = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Content-Length") {
            if let method, let url {
                state.bodyLimit =
                    server.responder.bodyLimit(method: HTTPMethod(String(cString: method)), path: String(cString: url))
                    ?? state.bodyLimit
            }
            if let length = Int(String(cString: declared).trimmingASCIISpaces()), length > state.bodyLimit {
                state.answered = true
                return server.answer(
                    HTTPServerError.payloadTooLarge(limit: state.bodyLimit).response,
                    method: method, url: url, state: state, connection: connection)
            }
        } else if MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Transfer-Encoding") != nil,
            let method, let url
        {
            state.bodyLimit =
                server.responder.bodyLimit(method: HTTPMethod(String(cString: method)), path: String(cString: url))
                ?? state.bodyLimit
        }
        return MHD_Result.YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(stored).takeUnretainedValue()
    if state.suspended {
        // Called again after MHD_resume_connection: the worker left the response.
        guard let pending = state.pending else { return MHD_Result.YES }
        state.suspended = false
        state.pending = nil
        return server.answer(
            pending.response, method: method, url: url, state: state, connection: connection, requestID: pending.requestID,
            methodName: pending.method)
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

    // Final call: the whole request is here.
    state.answered = true
    if state.bodyTooLarge {
        return server.answer(
            HTTPServerError.payloadTooLarge(limit: state.bodyLimit).response,
            method: method, url: url, state: state, connection: connection)
    }
    let liveHeaders = ConnectionHeaders(connection)
    defer { liveHeaders.close() }
    let headers = HTTPHeaders(lookup: liveHeaders)
    let query = QueryParameters(connectionValues(connection, kind: MHD_ValueKind.GET_ARGUMENT_KIND).map { (name: $0.0, value: $0.1) })
    let request = HTTPRequest(
        method: HTTPMethod(method.map { String(cString: $0) } ?? "GET"),
        path: url.map { String(cString: $0) } ?? "/",
        query: query,
        headers: headers,
        body: state.body,
        requestID: usableRequestID(headers["X-Request-Id"]) ?? server.nextRequestID())
    state.body = []
    let requestID = request.requestID
    let methodName = request.method.rawValue
    if server.responder.mayBlock(method: request.method, path: request.path) {
        // Run it on a worker: the header lookup must not outlive this call, so copy the headers.
        var copy = request
        copy.headers = HTTPHeaders(request.headers.fields.map { ($0.name, $0.value) })
        let detached = copy
        state.suspended = true
        MHD_suspend_connection(connection)
        let responder = server.responder
        let connectionBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
        server.workers.run {
            let response = responder.respond(to: detached)
            state.pending = (response, requestID, methodName)
            // The corresponding C function may be called from any thread (MHD_ALLOW_SUSPEND_RESUME).
            MHD_resume_connection(OpaquePointer(bitPattern: connectionBits))
        }
        return MHD_Result.YES
    }
    let response = server.responder.respond(to: request)
    return server.answer(
        response, method: method, url: url, state: state, connection: connection, requestID: requestID, methodName: methodName)
}

private let completedHandler: MHD_RequestCompletedCallback = { cls, _, requestContext, _ in
    guard let cls, let requestContext, let stored = requestContext.pointee else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    Unmanaged<RequestState>.fromOpaque(stored).release()
    requestContext.pointee = nil
    server.inFlight.wrappingSubtract(1, ordering: .releasing)
}

extension HTTPServer {
    /// Queues the response with the request id, writes the access-log line and records metrics.
    fileprivate func answer(
        _ response: consuming HTTPResponse, method: UnsafePointer<CChar>?, url: UnsafePointer<CChar>?, state: RequestState,
        connection: OpaquePointer, requestID: String? = nil, methodName: String? = nil
    ) -> MHD_Result {
        var response = response  // consumed: a move, not a copy
        let requestID = requestID ?? nextRequestID()
        // The server owns this header: handlers never set it, so it is added without a search.
        response.headers.add("X-Request-Id", requestID)
        let methodName = methodName ?? method.map { String(cString: $0) } ?? "?"
        let result = queue(response, method: methodName, on: connection)
        let elapsed = ContinuousClock.now - state.start
        let route = response.route ?? "unmatched"
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        requestMetrics.record(route: route, method: methodName, status: response.status, nanoseconds: nanoseconds)
        logger.info(
            "request",
            metadata: [
                "method": "\(methodName)", "route": "\(route)", "status": "\(response.status)",
                "duration_ms": "\(Double(nanoseconds) / 1e6)", "request_id": "\(requestID)",
            ])
        return result
    }
}

/// Metric handles per (route, method, status), made once: creating swift-metrics handles on every
/// request costs more than serving `/healthz` itself.
final class RequestMetrics: Sendable {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let handles = Mutex<[Key: (counter: Counter, timer: Metrics.Timer)]>([:])

    func record(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = Key(route: route, method: method, status: status)
        let handle = handles.withLock { handles in
            if let handle = handles[key] { return handle }
            let made = (
                counter: Counter(
                    label: "http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))]),
                timer: Metrics.Timer(label: "http_request_duration_seconds", dimensions: [("route", route)])
            )
            handles[key] = made
            return made
        }
        handle.counter.increment()
        handle.timer.recordNanoseconds(nanoseconds)
    }
}

/// Request headers read from the connection when asked. Valid only while the access handler runs;
/// `close()` afterwards makes later reads answer nil instead of touching a finished connection.
final class ConnectionHeaders: HeaderLookup, Sendable {
    /// The connection pointer's bits; 0 once closed. Reads and the close happen on the handler's own
    /// thread, the atomic only keeps a stray later read memory-safe.
    private let connection: Atomic<UInt>

    init(_ connection: OpaquePointer) { self.connection = Atomic(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))) }

    func close() { connection.store(0, ordering: .releasing) }

    private var pointer: OpaquePointer? {
        let bits = connection.load(ordering: .acquiring)
        return bits == 0 ? nil : OpaquePointer(bitPattern: bits)
    }

    /// The corresponding C function is `MHD_lookup_connection_value` (names compare case-insensitively).
    func value(_ name: String) -> String? {
        guard let pointer, let value = MHD_lookup_connection_value(pointer, MHD_ValueKind.HEADER_KIND, name) else { return nil }
        return String(cString: value)
    }

    func all() -> [(name: String, value: String)] {
        guard let pointer else { return [] }
        return connectionValues(pointer, kind: MHD_ValueKind.HEADER_KIND).map { (name: $0.0, value: $0.1) }
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
