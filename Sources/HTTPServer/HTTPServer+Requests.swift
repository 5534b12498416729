import CMicroHTTPD
import CMicroHTTPDShims
import Foundation
import Synchronization

/// The small values `icmm_mhd_check_uri` leaves in the per-request pointer (see mhd_shims.h).
private func uriFinding(_ pointer: UnsafeMutableRawPointer?) -> Int? {
    guard let pointer else { return 0 }
    let bits = UInt(bitPattern: pointer)
    return bits < 16 ? Int(bits) : nil
}

extension HTTPServer {
    /// libmicrohttpd's access handler: headers, then body chunks, then the final call (and, for a
    /// suspended connection, one call after it is resumed). The lifecycle decides; this acts.
    func access(
        connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?, uploadData: UnsafePointer<CChar>?,
        uploadDataSize: UnsafeMutablePointer<Int>?, requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        // Lent, not retained: `Running` is shared by every event loop, so a retain and a release per
        // call would pass its cache line between the cores.
        callbackState.load(ordering: .acquiring)!._withUnsafeGuaranteedRef { running in
            access(
                running: running, connection: connection, url: url, method: method, uploadData: uploadData,
                uploadDataSize: uploadDataSize, requestContext: requestContext)
        }
    }

    private func access(
        running: Running, connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
        uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>?,
        requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        if let finding = uriFinding(requestContext.pointee) {
            // First call: the headers are in. The context and the state are lent, not retained:
            // the contexts live as long as `running`, and the state is kept by the reference
            // stored for libmicrohttpd (released in `completed`).
            return running.contexts.current._withUnsafeGuaranteedRef { context in
                let stored = context.takeState(start: monotonicNanoseconds())
                requestContext.pointee = stored.toOpaque()
                return stored._withUnsafeGuaranteedRef { state in
                    state.context = Unmanaged.passUnretained(context)
                    context.requestBegan()
                    if running.deadlines != nil { icmm_mhd_headers_complete(connection) }
                    let verdict = readHead(
                        state, connection: connection, url: url, method: method, uriFinding: finding, context: context)
                    switch state.lifecycle.handle(.headers(verdict)) {
                    case .refuse:
                        let response = state.pending ?? HTTPServerError.badRequest(detail: "The request was refused.").response
                        state.pending = nil
                        return answer(response, state: state, connection: connection, running: running, close: true)
                    case .proceed: return MHD_Result.YES
                    default: return MHD_Result.NO
                    }
                }
            }
        }
        return Unmanaged<RequestState>.fromOpaque(requestContext.pointee!)._withUnsafeGuaranteedRef { state in
            access(
                state: state, running: running, connection: connection, uploadData: uploadData, uploadDataSize: uploadDataSize)
        }
    }

    /// The calls after the first: body chunks, the final call, and the call after a resume.
    private func access(
        state: RequestState, running: Running, connection: OpaquePointer, uploadData: UnsafePointer<CChar>?,
        uploadDataSize: UnsafeMutablePointer<Int>?
    ) -> MHD_Result {
        if let uploadDataSize, uploadDataSize.pointee > 0 {
            let size = uploadDataSize.pointee
            uploadDataSize.pointee = 0
            switch state.lifecycle.handle(.bodyChunk(fits: state.request.body.count + size <= state.bodyLimit)) {
            case .appendChunk:
                if let uploadData {
                    uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { bytes in
                        state.request.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: size))
                    }
                }
                return MHD_Result.YES
            case .dropChunk:
                state.request.body = []
                return MHD_Result.YES
            default:
                return MHD_Result.NO
            }
        }

        // Resumed by a stop, not by its worker: close it unanswered (the lifecycle stays suspended,
        // so the completion notice logs it as 499 and the worker may still write to the state).
        if state.abandoned { return MHD_Result.NO }
        switch state.lifecycle.handle(state.completion) {
        case .tryOnEventLoop:
            let response = state.route.flatMap { route in
                route.eventLoopAttempt.flatMap { attempt in
                    state.lendRequest { router.attemptOnEventLoop($0, route: route, attempt: attempt) }
                }
            }
            switch state.lifecycle.handle(.triedOnEventLoop(answered: response != nil)) {
            case .queueEventLoopResponse:
                return answer(response!, state: state, connection: connection, running: running)
            case .suspendAndDispatch:
                return dispatch(state, connection: connection, running: running)
            default:
                return MHD_Result.NO
            }
        case .respondNow:
            // The handler is lent the state's own request (see `RequestState.request`), and the
            // answer the same loan.
            guard let matchedRoute = state.matchedRoute else {
                return state.lendRequest { request in
                    let response = router.respond(to: request, match: state.unmatched)
                    return answer(response, request: request, state: state, connection: connection, running: running)
                }
            }
            // The router keeps the route alive (see `RequestState.matchedRoute`).
            return matchedRoute._withUnsafeGuaranteedRef { route in
                state.lendRequest { request in
                    let response = router.respond(to: request, route: route)
                    return answer(response, request: request, state: state, connection: connection, running: running)
                }
            }
        case .respondTooLarge:
            state.request.body = []
            return answer(
                Router.payloadTooLarge(route: state.route, limit: state.bodyLimit), state: state, connection: connection,
                running: running, close: true)
        case .suspendAndDispatch:
            return dispatch(state, connection: connection, running: running)
        case .queueWorkerResponse:
            let response = state.pending ?? HTTPServerError.internalError.response
            state.pending = nil
            return answer(response, state: state, connection: connection, running: running)
        case .proceed:
            return MHD_Result.YES
        default:
            return MHD_Result.NO
        }
    }

    /// libmicrohttpd's completion notice: after the response was sent, or when the client went
    /// away or the daemon stopped. The request's state is released here and nowhere else.
    func completed(connection: OpaquePointer?, requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        // Lent, as in `access`.
        let running = callbackState.load(ordering: .acquiring)
        if let connection, let deadlines = running?._withUnsafeGuaranteedRef({ $0.deadlines }) {
            icmm_mhd_request_finished(connection, deadlines)
        }
        guard uriFinding(requestContext.pointee) == nil, let stored = requestContext.pointee else {
            requestContext.pointee = nil
            return
        }
        requestContext.pointee = nil
        let unmanaged = Unmanaged<RequestState>.fromOpaque(stored)
        let recycling: Unmanaged<EventLoopContext>? = unmanaged._withUnsafeGuaranteedRef { state in
            let wasSuspended = state.lifecycle.state == .suspended
            if wasSuspended {
                // The worker must not resume a connection libmicrohttpd is about to free.
                running?._withUnsafeGuaranteedRef { running in running.resumeGate.withLock { _ in state.connectionGone = true } }
            }
            guard let context = state.context else { return nil }
            return context._withUnsafeGuaranteedRef { context in
                if state.dispatched { context.forgetDispatched(state) }
                if case .release(let answered) = state.lifecycle.handle(.completed), !answered {
                    // Never answered: the client went away (or the daemon stopped) first. Logged as nginx does.
                    let route = state.route?.pattern ?? "unmatched"
                    context.logRequest(
                        method: state.request.method.rawValue, route: route, status: 499,
                        nanoseconds: monotonicNanoseconds() &- state.start, requestID: state.request.requestID)
                }
                context.requestCompleted()
                // Recycled only by its own thread, and only when no worker can still write to it.
                let ownThread = icmm_thread_context_get() == Unmanaged.passUnretained(context).toOpaque()
                return !wasSuspended && ownThread ? Unmanaged.passUnretained(context) : nil
            }
        }
        if let recycling {
            // libmicrohttpd's reference passes to the free list: no retain, no release.
            recycling._withUnsafeGuaranteedRef { $0.recycle(unmanaged.takeRetainedValue()) }
        } else {
            unmanaged.release()
        }
    }

    /// The accept policy: past the connection limit a new connection is closed at once.
    func admitsConnection() -> Bool {
        guard let running = callbackState.load(ordering: .acquiring)?.takeUnretainedValue(), let daemon = running.daemon else {
            return true
        }
        // A stopping server takes no new connection (see `stop()`: this replaces quiescing).
        if running.draining.load(ordering: .acquiring) { return false }
        return Int(icmm_mhd_current_connections(daemon)) < configuration.connectionLimit
    }

    /// Copies what the handler will need out of libmicrohttpd's memory and checks the request's
    /// framing, its size and (for a request with a body) the route's admission check.
    private func readHead(
        _ state: RequestState, connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
        uriFinding: Int, context: EventLoopContext
    ) -> RequestLifecycle.HeadersVerdict {
        // The connection is for `clientAddress`, read only when asked; a worker's connection is
        // suspended, not closed.
        state.request.connectionBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
        state.request.method = method.map { HTTPMethod(cString: $0) } ?? .get
        if let url, let literal = router.literalRoute(url, length: strlen(url), method: state.request.method) {
            literal._withUnsafeGuaranteedRef { route in
                // A literal route's pattern has the path's very bytes: no new string to make.
                state.request.path = route.pattern
                state.request.route = route.pattern
                state.completion = completionEvent(route)
            }
            state.matchedRoute = literal
        } else {
            state.request.path = url.map(ownedString) ?? "/"
            let match = router.match(state.request.method, path: state.request.path)
            if case .found(let route, let parameters) = match {
                state.completion = completionEvent(route)
                state.matchedRoute = Unmanaged.passUnretained(route)
                state.request.route = route.pattern
                state.request.pathParameters = parameters
            } else {
                state.request.route = nil  // set by the previous request on this state
                state.unmatched = match
            }
        }
        copyHeadersAndQuery(connection, into: state)
        state.request.requestID =
            usableRequestID(state.framing.clientRequestID) ?? context.nextRequestID(prefix: requestIDPrefix)

        func refuse(_ error: HTTPServerError) -> RequestLifecycle.HeadersVerdict {
            state.pending = error.response
            return .refuse
        }
        switch uriFinding {
        case Int(ICMM_URI_NUL): return refuse(.badRequest(detail: "The path contains a percent-encoded NUL (%00)."))
        case Int(ICMM_URI_TOO_MANY_PARAMETERS): return refuse(.tooManyQueryParameters(limit: configuration.maxQueryParameters))
        default: break
        }
        let framing = state.framing
        if framing.conflictingContentLengths {
            return refuse(.badRequest(detail: "The request has Content-Length headers with different values."))
        }
        if framing.contentLength != nil && framing.transferEncoding {
            return refuse(.badRequest(detail: "The request has both Content-Length and Transfer-Encoding."))
        }
        if framing.authorizations > 1 { return refuse(.badRequest(detail: "The request has more than one Authorization header.")) }
        if framing.contentTypes > 1 { return refuse(.badRequest(detail: "The request has more than one Content-Type header.")) }

        guard framing.contentLength != nil || framing.transferEncoding else { return .noBody }
        state.bodyLimit = state.route?.maxBodyBytes ?? configuration.maxBodyBytes
        var declaredLength: Int?
        if let declared = framing.contentLength {
            guard let length = Int(declared.trimmingASCIISpaces()), length >= 0 else {
                return refuse(.badRequest(detail: "The Content-Length header is not a number."))
            }
            declaredLength = length
        }
        if declaredLength != 0, let route = state.route, let admission = route.admission {
            // Credentials before bodies: refused on the headers, the body is never read. Before
            // the size check too, so that a caller without a key learns nothing of the limits.
            if let refusal = state.lendRequest({ router.admit($0, route: route, admission: admission) }) {
                state.pending = refusal
                return .refuse
            }
        }
        if let declaredLength, declaredLength > state.bodyLimit {
            state.pending = Router.payloadTooLarge(route: state.route, limit: state.bodyLimit)
            return .refuse
        }
        return .body
    }

    /// The lifecycle's final-call event for a request matched to `route`: a route that may block
    /// runs on a worker, after its event-loop attempt when it has one.
    private func completionEvent(_ route: Router.Route?) -> RequestLifecycle.Event {
        guard let route, route.mayBlock else { return .complete(onWorker: false) }
        return route.eventLoopAttempt != nil ? .completeTryingEventLoopFirst : .complete(onWorker: true)
    }

    /// Runs a route that may block on a worker. The connection is suspended meanwhile; the worker
    /// resumes it through the gate, which is closed once the daemon stops or the request completed.
    private func dispatch(_ state: RequestState, connection: OpaquePointer, running: Running) -> MHD_Result {
        workerDispatches.add(1, ordering: .relaxed)
        // The worker's own copy: the state is reused once the request completed.
        let request = state.request
        state.request.body = []
        let match = state.match
        let router = router
        let connectionBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
        state.workerOutstanding = true
        MHD_suspend_connection(connection)
        state.dispatched = true
        state.context?.takeUnretainedValue().rememberDispatched(state, connection: connection)
        let queued = running.workers.run { [request] in
            let response = router.respond(to: request, match: match)
            running.resumeGate.withLock { open in
                state.pending = response
                state.workerOutstanding = false
                // The corresponding C function may be called from any thread (MHD_ALLOW_SUSPEND_RESUME).
                if open && !state.connectionGone { MHD_resume_connection(OpaquePointer(bitPattern: connectionBits)) }
            }
        }
        if !queued {
            // The pool is shutting down (the daemon is stopping): answer here rather than never.
            running.resumeGate.withLock { _ in
                state.pending = HTTPServerError.unavailable.response
                state.workerOutstanding = false
            }
            MHD_resume_connection(connection)
        }
        return MHD_Result.YES
    }

    /// Queues the response with the request id, writes the access-log line and records metrics.
    private func answer(
        _ response: borrowing HTTPResponse, state: RequestState, connection: OpaquePointer, running: Running, close: Bool = false
    ) -> MHD_Result {
        state.lendRequest { request in
            answer(response, request: request, state: state, connection: connection, running: running, close: close)
        }
    }

    /// `answer` with the request already lent (see `RequestState.lendRequest`): its id and method
    /// go to the response, the metrics and the log without a retain and a release each. The
    /// state's `request` must not be read meanwhile.
    private func answer(
        _ response: borrowing HTTPResponse, request: borrowing HTTPRequest, state: RequestState, connection: OpaquePointer,
        running: Running, close: Bool = false
    ) -> MHD_Result {
        let closing = close || running.draining.load(ordering: .relaxed)
        let body = response.body
        let result = queue(
            response, body: body, requestID: request.requestID, close: closing, strictTransportSecurity: strictTransportSecurity,
            on: connection)
        // Kept only when libmicrohttpd took the response: one it refused (a second answer to one
        // request, which the lifecycle rules out) must not release the bytes of the first.
        if result == MHD_Result.YES { state.sentBody = body }
        let nanoseconds = monotonicNanoseconds() &- state.start
        let route = response.route ?? request.route ?? "unmatched"
        state.context?._withUnsafeGuaranteedRef { context in
            context.recordRequest(route: route, method: request.method.rawValue, status: response.status, nanoseconds: nanoseconds)
            context.logRequest(
                method: request.method.rawValue, route: route, status: response.status, nanoseconds: nanoseconds,
                requestID: request.requestID)
        }
        return result
    }
}

/// `body` must stay alive, unchanged, until the request's completion notice (`RequestState.sentBody`):
/// libmicrohttpd reads it while it sends, without a copy of its own (a malloc, a copy and a free
/// per response saved).
private func queue(
    _ response: borrowing HTTPResponse, body: borrowing [UInt8], requestID: String, close: Bool, strictTransportSecurity: String?,
    on connection: OpaquePointer
) -> MHD_Result {
    // The pointer outlives the closure: the array's storage is kept by the request's state, and
    // an array's elements never move while it is not mutated.
    let mhdResponse: OpaquePointer? = body.withUnsafeBytes { buffer in
        MHD_create_response_from_buffer(
            buffer.count, UnsafeMutableRawPointer(mutating: buffer.baseAddress), MHD_ResponseMemoryMode.RESPMEM_PERSISTENT)
    }
    guard let mhdResponse else { return MHD_Result.NO }
    // withCString passes a native string's own bytes; the implicit String-to-pointer conversion
    // would copy each name and value into a new array first.
    for (name, value) in response.headers {
        _ = name.withCString { n in value.withCString { v in MHD_add_response_header(mhdResponse, n, v) } }
    }
    // The server owns these headers: handlers never set them.
    _ = requestID.withCString { MHD_add_response_header(mhdResponse, "X-Request-Id", $0) }
    if close { _ = MHD_add_response_header(mhdResponse, "Connection", "close") }
    if let strictTransportSecurity {
        _ = strictTransportSecurity.withCString { MHD_add_response_header(mhdResponse, "Strict-Transport-Security", $0) }
    }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

/// Copies every header field into the state and tallies those that decide the framing, and
/// copies the decoded query parameters (in one pass over libmicrohttpd's list: each kind keeps its
/// order). `MHD_lookup_connection_value` would answer for the first of repeated names only.
private func copyHeadersAndQuery(_ connection: OpaquePointer, into state: RequestState) {
    _ = icmm_mhd_get_headers_and_query(connection, { cls, kind, key, value in
        guard let cls, let key else { return MHD_Result.YES }
        return Unmanaged<RequestState>.fromOpaque(cls)._withUnsafeGuaranteedRef { state in
            copyField(kind: kind, key: key, value: value, into: state)
        }
    }, Unmanaged.passUnretained(state).toOpaque())
}

/// One field of `copyHeadersAndQuery`.
@inline(__always)
private func copyField(kind: MHD_ValueKind, key: UnsafePointer<CChar>, value: UnsafePointer<CChar>?, into state: RequestState)
    -> MHD_Result
{
    let text = value.map(ownedString) ?? ""
    if kind == MHD_ValueKind.GET_ARGUMENT_KIND {
        state.request.query.append(ownedString(key), text)
        return MHD_Result.YES
    }
    // The first letter first: most fields are none of these five (Host, Accept, ...).
    switch key[0] | 0x20 {
    case 0x61, 0x63, 0x74, 0x78: break  // a, c, t, x
    default:
        state.request.headers.add(commonHeaderName(key) ?? ownedString(key), text)
        return MHD_Result.YES
    }
    if strcasecmp(key, "Content-Length") == 0 {
        state.framing.contentLengths += 1
        if let previous = state.framing.contentLength, previous.trimmingASCIISpaces() != text.trimmingASCIISpaces() {
            state.framing.conflictingContentLengths = true
        }
        state.framing.contentLength = text
    } else if strcasecmp(key, "Transfer-Encoding") == 0 {
        state.framing.transferEncoding = true
    } else if strcasecmp(key, "Authorization") == 0 {
        state.framing.authorizations += 1
    } else if strcasecmp(key, "Content-Type") == 0 {
        state.framing.contentTypes += 1
    } else if strcasecmp(key, "X-Request-Id") == 0, state.framing.clientRequestID == nil {
        state.framing.clientRequestID = text
    }
    state.request.headers.add(commonHeaderName(key) ?? ownedString(key), text)
    return MHD_Result.YES
}

/// The program's own constant for a common field name spelled exactly as the client sent it
/// (same bytes, same case), else nil: a constant costs nothing to make, where `String(cString:)`
/// measures, validates and packs the bytes of every field of every request.
@inline(__always)
func commonHeaderName(_ key: UnsafePointer<CChar>) -> String? {
    switch key[0] {
    case 0x48:  // H
        if strcmp(key, "Host") == 0 { return "Host" }
    case 0x41:  // A
        if strcmp(key, "Accept") == 0 { return "Accept" }
        if strcmp(key, "Authorization") == 0 { return "Authorization" }
        if strcmp(key, "Accept-Encoding") == 0 { return "Accept-Encoding" }
    case 0x43:  // C
        if strcmp(key, "Content-Type") == 0 { return "Content-Type" }
        if strcmp(key, "Content-Length") == 0 { return "Content-Length" }
        if strcmp(key, "Connection") == 0 { return "Connection" }
    case 0x55:  // U
        if strcmp(key, "User-Agent") == 0 { return "User-Agent" }
    case 0x49:  // I
        if strcmp(key, "If-None-Match") == 0 { return "If-None-Match" }
    case 0x58:  // X
        if strcmp(key, "X-Request-Id") == 0 { return "X-Request-Id" }
    default:
        break
    }
    return nil
}

/// A C string (a path, a header or query value) as an owned Swift string, the same as
/// `String(cString:)` (invalid UTF-8 repaired the same way). Up to 15 bytes, which is most values
/// (a Host, an id), the string is small and is made in place: `String(cString:)` takes a slower
/// generic path for those, measured at about 150 instructions per value (issue 11).
@inline(__always)
func ownedString(_ p: UnsafePointer<CChar>) -> String {
    let length = strlen(p)
    guard length <= 15 else { return String(cString: p) }
    return String(unsafeUninitializedCapacity: length) { buffer in
        if length > 0 { memcpy(buffer.baseAddress!, p, length) }
        return length
    }
}
