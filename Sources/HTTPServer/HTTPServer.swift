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
    /// Most simultaneous connections. Past it a new connection is closed at once (no queueing in
    /// the listen backlog), so that a flood is refused quickly instead of hanging every client.
    public var connectionLimit: Int = 1024
    /// Most simultaneous connections from one IP address: one client cannot take them all.
    public var connectionsPerAddress: Int = 64
    /// Seconds of inactivity before an idle connection is closed.
    public var connectionTimeoutSeconds: Int = 30
    /// Seconds a new connection has to send its complete request headers (0: no deadline). The
    /// idle timeout alone cannot stop a client that sends one byte a second. A kept-alive
    /// connection has `connectionTimeoutSeconds` for each later request's headers.
    public var headerDeadlineSeconds: Int = 10
    /// Per-connection memory pool; it also caps the size of the request headers (431 above it).
    public var connectionMemoryLimit: Int = 32 * 1024
    /// Requests with more query parameters get 414 at once.
    public var maxQueryParameters: Int = 256
    /// How long a graceful stop waits for requests in flight.
    public var drainTimeoutSeconds: Double = 10
    /// Threads that run the handlers that may block (durable writes, cohort computations), so that
    /// the event loops keep serving; and so that concurrent writers can share one synced commit.
    public var blockingWorkers: Int = 32
    /// One line per request, buffered off the event loops.
    public var accessLog = AccessLogConfiguration()
    /// HTTPS with libmicrohttpd's own TLS (GnuTLS); nil serves plain HTTP.
    public var tls: TLSConfiguration?

    public init() {}
}

/// A certificate chain and its private key, in PEM, and the GnuTLS priority string.
public struct TLSConfiguration: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String
    /// TLS 1.3 and 1.2 only; AEAD ciphers (AES-GCM, ChaCha20-Poly1305) with ECDHE key exchange,
    /// the server's order first.
    public var priorities: String = TLSConfiguration.modernPriorities
    /// Sent with every response while TLS is on: browsers then refuse plain HTTP to this host.
    public var strictTransportSecurity: String = "max-age=31536000"

    public static let modernPriorities =
        "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

public enum HTTPServerStartError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    case daemonDidNotStart(host: String, port: UInt16)
    case accessLog(AccessLogError)
    case tlsUnsupported
    case tlsRejected

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): "Invalid server configuration: \(why)"
        case .daemonDidNotStart(let host, let port):
            "Could not listen on \(host):\(port) (address in use, or not an IPv4 address of this machine)."
        case .accessLog(let error): error.description
        case .tlsUnsupported: "This libmicrohttpd was built without TLS support (GnuTLS)."
        case .tlsRejected:
            "The TLS certificate and key were refused: they must be PEM, the key unencrypted, and the key must belong to the certificate."
        }
    }
}

/// An HTTP/1.1 server over libmicrohttpd. Requests are read whole (up to the body limit), then
/// handed to the handler on the daemon's event-loop thread, or on a worker for routes that may block.
///
/// Everything the server runs (daemon threads, workers, the access-log writer) starts in `start()`
/// and is joined in `stop()`.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: `running` is written only by start()/stop(), which callers do not run concurrently;
    // the callbacks read what it holds only while the daemon runs.
    public let configuration: HTTPServerConfiguration
    let router: Router
    let logger: Logger
    let requestIDPrefix: UInt16
    let requestMetrics = RequestMetricTable()
    let workerDispatches = Atomic<Int>(0)

    /// Requests handed to a worker so far (the rest were answered on an event loop).
    public var requestsRunOnWorkers: Int { workerDispatches.load(ordering: .relaxed) }

    /// What exists only while the server runs.
    final class Running: @unchecked Sendable {
        // @unchecked: `daemon` is written once, by start() right after MHD_start_daemon returns
        // (a callback that runs before then sees nil and does without it).
        var daemon: OpaquePointer?
        /// The header-deadline reaper's state (C), stopped after the daemon.
        var deadlines: UnsafeMutableRawPointer?
        let contexts: EventLoopContexts
        let workers: WorkerPool
        let accessLog: AccessLog
        /// Guards `MHD_resume_connection`: a worker resumes only while the daemon runs and its
        /// request is not completed, never a connection libmicrohttpd already freed.
        let resumeGate = Mutex<Bool>(true)
        /// Set when a graceful stop begins: responses then say `Connection: close`.
        let draining = Atomic<Bool>(false)

        init(contexts: EventLoopContexts, workers: WorkerPool, accessLog: AccessLog) {
            self.contexts = contexts
            self.workers = workers
            self.accessLog = accessLog
        }
    }
    private var running: Running?
    /// The callbacks' view of `running`, set before the daemon starts and cleared after it stopped.
    let callbackState = Atomic<Unmanaged<Running>?>(nil)

    /// The Strict-Transport-Security value, when TLS is on.
    let strictTransportSecurity: String?

    public init(configuration: HTTPServerConfiguration, router: Router, logger: Logger) {
        self.configuration = configuration
        self.strictTransportSecurity = configuration.tls?.strictTransportSecurity
        self.router = router
        self.logger = logger
        self.requestIDPrefix = UInt16.random(in: 0...UInt16.max)
    }

    deinit { _ = stop() }

    /// The port the daemon listens on (resolved when the configuration asked for port 0).
    public private(set) var port: UInt16 = 0

    /// Open connections right now (idle keep-alive connections included).
    public var currentConnections: Int {
        guard let daemon = running?.daemon else { return 0 }
        return Int(icmm_mhd_current_connections(daemon))
    }

    /// Brings `http_requests_total` and `http_request_duration_seconds` up to date: each event loop
    /// keeps its own counts until asked. Call it before rendering metrics.
    public func flushRequestMetrics() { running?.contexts.flushMetrics() }

    /// `http_request_duration_seconds{route}` for this server's requests (see
    /// `RequestDurationHistograms`): `/metrics` appends it after the registry's metrics.
    public var requestDurations: RequestDurationHistograms { requestMetrics.durations }

    /// Requests begun and not yet completed: a graceful stop waits for this to reach zero.
    public var requestsInFlight: Int { running?.contexts.inFlight ?? 0 }

    /// Starts listening. The corresponding C function is `MHD_start_daemon` (through `icmm_mhd_start`).
    public func start() throws(HTTPServerStartError) {
        precondition(running == nil, "HTTPServer.start() called twice")
        // Request ids carry the thread's slot in two hex digits (see `EventLoopContext`).
        guard (1...256).contains(configuration.threads) else { throw .invalidConfiguration("threads must be between 1 and 256") }
        guard configuration.maxBodyBytes >= 0 else { throw .invalidConfiguration("max body must not be negative") }
        guard configuration.headerDeadlineSeconds >= 0 else { throw .invalidConfiguration("the header deadline must not be negative") }
        guard configuration.connectionLimit >= 1, configuration.connectionsPerAddress >= 1 else {
            throw .invalidConfiguration("connection limits must be at least 1")
        }
        let accessLog: AccessLog
        do {
            accessLog = try AccessLog(configuration: configuration.accessLog)
        } catch {
            throw .accessLog(error)
        }
        let contexts = EventLoopContexts(threads: configuration.threads, accessLog: accessLog, metrics: requestMetrics)
        // Workers and the log writer first: the daemon may call back as soon as it starts.
        let workers = WorkerPool(threads: max(1, configuration.blockingWorkers))
        accessLog.start()

        let context = Unmanaged.passUnretained(self).toOpaque()
        let running = Running(contexts: contexts, workers: workers, accessLog: accessLog)
        callbackState.store(Unmanaged.passUnretained(running), ordering: .releasing)
        if configuration.tls != nil && icmm_mhd_supports_tls() == 0 { throw .tlsUnsupported }
        var deadlines: UnsafeMutableRawPointer?
        let started = startDaemon(
            host: configuration.host, port: configuration.port, threads: configuration.threads, context: context, deadlines: &deadlines)
        guard let started else {
            callbackState.store(nil, ordering: .releasing)
            _ = workers.shutdown(deadline: .now)
            accessLog.close()
            // Tell a bad certificate from a busy port: a throwaway TLS daemon on a free loopback port.
            var probeDeadlines: UnsafeMutableRawPointer?
            if configuration.tls != nil,
                let probe = startDaemon(host: "127.0.0.1", port: 0, threads: 1, context: context, deadlines: &probeDeadlines)
            {
                MHD_stop_daemon(probe)
                icmm_mhd_deadlines_stop(probeDeadlines)
                throw .daemonDidNotStart(host: configuration.host, port: configuration.port)
            }
            if configuration.tls != nil { throw .tlsRejected }
            throw .daemonDidNotStart(host: configuration.host, port: configuration.port)
        }
        running.daemon = started
        running.deadlines = deadlines
        self.running = running
        port = icmm_mhd_bound_port(started)
        logger.info(
            "listening",
            metadata: [
                "host": "\(configuration.host)", "port": "\(port)", "threads": "\(configuration.threads)",
                "tls": "\(configuration.tls != nil)",
            ])
    }

    /// The corresponding C function is `MHD_start_daemon` (through `icmm_mhd_start`).
    private func startDaemon(
        host: String, port: UInt16, threads: Int, context: UnsafeMutableRawPointer, deadlines: inout UnsafeMutableRawPointer?
    ) -> OpaquePointer? {
        var flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        flags |= MHD_ALLOW_SUSPEND_RESUME.rawValue
        let tls = configuration.tls
        // libmicrohttpd hands the PEM text to GnuTLS, which copies it while the daemon starts.
        return withOptionalCString(tls?.certificatePEM) { certificate in
            withOptionalCString(tls?.privateKeyPEM) { key in
                withOptionalCString(tls?.priorities) { priorities in
                    host.withCString { host in withUnsafeMutablePointer(to: &deadlines) { deadlinesOut in
            var config = icmm_mhd_config()
            config.header_deadline_seconds = UInt32(max(0, configuration.headerDeadlineSeconds))
            config.keepalive_deadline_seconds = UInt32(max(configuration.headerDeadlineSeconds, configuration.connectionTimeoutSeconds))
            config.deadlines_out = deadlinesOut
            config.tls_cert_pem = certificate
            config.tls_key_pem = key
            config.tls_priorities = priorities
            config.flags = UInt32(flags)
            config.bind_address = host
            config.port = port
            config.thread_pool_size = UInt32(threads)
            // libmicrohttpd's own limit sits above ours: at its limit it stops accepting and new
            // clients wait in the backlog; below it, the accept policy closes them at once.
            config.connection_limit = UInt32(configuration.connectionLimit + 16 * configuration.threads)
            config.per_ip_connection_limit = UInt32(configuration.connectionsPerAddress)
            config.connection_timeout = UInt32(configuration.connectionTimeoutSeconds)
            config.connection_memory_limit = configuration.connectionMemoryLimit
            config.check_uri = 1
            config.max_query_parameters = UInt32(configuration.maxQueryParameters)
            config.access_handler = accessHandler
            config.access_context = context
            config.completed_handler = completedHandler
            config.completed_context = context
            config.accept_policy = acceptPolicy
            config.accept_policy_context = context
            return icmm_mhd_start(&config)
                    } }
                }
            }
        }
    }

    /// Stops accepting connections, waits (up to the drain timeout) for the requests in flight to
    /// be answered, then stops the daemon, the workers and the access-log writer.
    ///
    /// New connections are turned away by the accept policy once `draining` is set (libmicrohttpd
    /// accepts and closes them at once), not by `MHD_quiesce_daemon`: on an epoll daemon with
    /// its own threads, quiescing removes the listen socket from each event loop's epoll set from
    /// this thread while the event loop may remove it too (its "at the connection limit or
    /// quiesced" branch), and whichever loses gets ENOENT and MHD_PANIC aborts the process
    /// (libmicrohttpd 0.9.75 daemon.c, seen in a whole-suite run). `MHD_stop_daemon` closes the
    /// listen socket.
    @discardableResult
    public func stop() -> StopOutcome {
        guard let running, let daemon = running.daemon else { return StopOutcome(unanswered: 0, handlersStillRunning: 0) }
        let deadline = ContinuousClock.now + .milliseconds(Int(configuration.drainTimeoutSeconds * 1000))
        running.draining.store(true, ordering: .releasing)
        // In flight: from the headers until libmicrohttpd's completion notice, which comes after
        // the response was sent. So a request answered by a worker counts until it is delivered.
        var nextLook = ContinuousClock.now
        while running.contexts.inFlight > 0 && ContinuousClock.now < deadline {
            // A request on a worker whose client has left can never be answered, and libmicrohttpd
            // does not watch a suspended connection: when only such requests remain, stop waiting.
            if ContinuousClock.now >= nextLook {
                nextLook = ContinuousClock.now + .milliseconds(100)
                let unreachable = running.resumeGate.withLock { _ in
                    var count = 0
                    running.contexts.forEachDispatched { state, connection in
                        if state.workerOutstanding && icmm_mhd_peer_gone(connection) != 0 { count += 1 }
                    }
                    return count
                }
                if unreachable > 0 && unreachable >= running.contexts.inFlight { break }
            }
            usleep(5_000)
        }
        let abandoned = running.contexts.inFlight
        // No resume by a worker from here on: MHD_stop_daemon frees the connections. A connection
        // still waiting for its worker is resumed here, marked so that it is closed unanswered
        // (its handler's outcome is unknown): MHD_stop_daemon aborts while one is suspended.
        running.resumeGate.withLock { open in
            open = false
            running.contexts.forEachDispatched { state, connection in
                // Under the gate: a worker clears this, and resumes, only while holding it.
                guard state.workerOutstanding else { return }
                state.abandoned = true
                MHD_resume_connection(connection)
            }
        }
        MHD_stop_daemon(daemon)
        icmm_mhd_deadlines_stop(running.deadlines)
        callbackState.store(nil, ordering: .releasing)
        self.running = nil
        // Handlers still running past the drain finish on their own; their responses have nowhere to go.
        // The drain is over (everything answered, its time passed, or only requests whose clients
        // left remain): a moment for workers just finishing, not a second wait.
        let detached = running.workers.shutdown(deadline: .now + .milliseconds(50))
        running.contexts.flushMetrics()
        running.accessLog.close()
        if abandoned > 0 || detached > 0 {
            logger.warning(
                "stopped with requests unanswered", metadata: ["requests": "\(abandoned)", "handlers_still_running": "\(detached)"])
        } else {
            logger.info("stopped")
        }
        return StopOutcome(unanswered: abandoned, handlersStillRunning: detached)
    }

    /// How a stop went.
    public struct StopOutcome: Sendable, Equatable {
        /// Requests still in flight when the drain timeout passed (their clients got no answer).
        public let unanswered: Int
        /// Handlers still running on workers then (e.g. a large import): they finish on their own,
        /// so whatever they use (the database) must not be closed under them.
        public let handlersStillRunning: Int
    }

    /// The request-duration histogram (seconds, by route): its name and bucket bounds
    /// (`RequestDurationHistograms`).
    public static let durationHistogram = (
        label: "http_request_duration_seconds", buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    )
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

// MARK: - libmicrohttpd callbacks: trampolines into HTTPServer+Requests.swift

private let accessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, _, uploadData, uploadDataSize, requestContext in
    guard let cls, let connection, let requestContext else { return MHD_Result.NO }
    // Guaranteed rather than taken: the daemon calls back only while the server runs it, and a
    // strong reference would retain and release the server on every call.
    return Unmanaged<HTTPServer>.fromOpaque(cls)._withUnsafeGuaranteedRef {
        $0.access(
            connection: connection, url: url, method: method, uploadData: uploadData, uploadDataSize: uploadDataSize,
            requestContext: requestContext)
    }
}

private let completedHandler: MHD_RequestCompletedCallback = { cls, connection, requestContext, _ in
    guard let cls, let requestContext else { return }
    Unmanaged<HTTPServer>.fromOpaque(cls)._withUnsafeGuaranteedRef { $0.completed(connection: connection, requestContext: requestContext) }
}

private let acceptPolicy: MHD_AcceptPolicyCallback = { cls, _, _ in
    guard let cls else { return MHD_Result.NO }
    return Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().admitsConnection() ? MHD_Result.YES : MHD_Result.NO
}

private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
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
