import CMicroHTTPD
import Foundation
import Synchronization

/// What the server keeps for one request between libmicrohttpd's calls. Everything in it is an
/// owned copy made on the event loop during the call that received it: nothing points into
/// libmicrohttpd's memory. Reused request after request by its event loop (`EventLoopContext`).
final class RequestState: @unchecked Sendable {
    // @unchecked: the event loop owns every field, except that a worker writes `pending` and
    // `workerOutstanding`, and the completion handler `connectionGone`, under the server's resume
    // gate; the event loop reads `pending` only after the worker resumed the connection.
    //
    // @exclusivity(unchecked): Swift's run-time exclusivity check only sees overlapping accesses on
    // one thread, and none can overlap here (every access is a short read or write, or a mutating
    // call that runs no callback); the checks cost about 60 instructions per access, dozens of
    // accesses per request (issue 11: the per-request cost).
    /// See `CacheLinePadding`: the event loops make their states as they need them, and the
    /// allocator may put two loops' states next to each other.
    private let leadingPadding = CacheLinePadding()
    @exclusivity(unchecked) var start: UInt64 = 0
    /// The event loop's context (which outlives its requests), unretained: `answer` lends it
    /// rather than retaining and releasing it per request.
    @exclusivity(unchecked) var context: Unmanaged<EventLoopContext>? = nil
    @exclusivity(unchecked) var lifecycle = RequestLifecycle()
    /// The handler's view of the request, filled in place as the request is read: method, path,
    /// query, header fields, body, request id (generated, or the client's when it passed
    /// `usableRequestID`: the access log copies it as is), and, once matched, the route's pattern
    /// and path parameters. Every field is an owned copy. An event-loop handler is lent this very
    /// value; building a new request per call retained and released each of its eight fields
    /// (issue 11). A worker or an admission check gets a copy.
    @exclusivity(unchecked) var request = HTTPRequest(method: .get, path: "", requestID: "")
    @exclusivity(unchecked) var framing = Framing()
    /// The matched route, unretained: the router keeps every route for as long as the server
    /// exists (and a worker's closure captures the router). A route is one object both event
    /// loops use: each change of its reference count would pass its cache line between the cores,
    /// so the common path lends it (`_withUnsafeGuaranteedRef`) and never retains it.
    @exclusivity(unchecked) var matchedRoute: Unmanaged<Router.Route>?
    /// Why no route was found (`.notFound` or `.methodNotAllowed`); unused when `matchedRoute` is set.
    @exclusivity(unchecked) var unmatched: Router.Match = .notFound
    /// What the final call tells the lifecycle, from the matched route (see `completionEvent`):
    /// decided once on the headers, so that the final call need not copy the route out of `match`
    /// (a retain and a release of an object both event loops share).
    @exclusivity(unchecked) var completion: RequestLifecycle.Event = .complete(onWorker: false)
    @exclusivity(unchecked) var bodyLimit = 0
    /// The response for a request refused on its headers, or the one a worker computed.
    @exclusivity(unchecked) var pending: HTTPResponse?
    /// The queued response's body: libmicrohttpd sends from these bytes without a copy of its own
    /// (`RESPMEM_PERSISTENT`), so they are kept until its completion notice, which comes only
    /// after the last byte was sent (or the connection was closed).
    @exclusivity(unchecked) var sentBody: [UInt8] = []
    @exclusivity(unchecked) var workerOutstanding = false
    @exclusivity(unchecked) var connectionGone = false
    /// Handed to a worker: listed in its event loop's context until its completion notice.
    @exclusivity(unchecked) var dispatched = false
    /// Set by a stop whose drain ended before the worker finished: the connection was resumed
    /// to be closed without an answer.
    @exclusivity(unchecked) var abandoned = false
    private let trailingPadding = CacheLinePadding()

    /// What the header fields say about the body and the credentials, tallied while copying them.
    struct Framing {
        /// The first `X-Request-Id` value, noted while copying the fields (no second scan).
        var clientRequestID: String?
        var contentLength: String?
        var contentLengths = 0
        var conflictingContentLengths = false
        var chunked = false
        var transferEncoding = false
        var authorizations = 0
        var contentTypes = 0
    }

    func reset() {
        lifecycle = RequestLifecycle()
        context = nil
        request.clearForReuse()
        // Replaced only when a string was noted: releasing two empty ones costs two calls.
        if framing.contentLength != nil || framing.clientRequestID != nil {
            framing = Framing()
        } else {
            framing.contentLengths = 0
            framing.conflictingContentLengths = false
            framing.chunked = false
            framing.transferEncoding = false
            framing.authorizations = 0
            framing.contentTypes = 0
        }
        matchedRoute = nil
        if case .methodNotAllowed = unmatched { unmatched = .notFound }
        completion = .complete(onWorker: false)
        if pending != nil { pending = nil }
        sentBody = []
        workerOutstanding = false
        connectionGone = false
        dispatched = false
        abandoned = false
    }

    /// Lends `request` to `body`: moved out of the state and back, never copied. Passing
    /// `state.request` as a borrowed argument copies it first (the compiler cannot prove that the
    /// handler leaves the state alone): eight retains and eight releases per request (issue 11).
    /// Meanwhile the field holds no value: `body` must not read or write `state.request` (a
    /// handler cannot: it sees only its request).
    @inline(__always)
    func lendRequest<Result>(_ body: (borrowing HTTPRequest) throws -> Result) rethrows -> Result {
        try withUnsafeMutablePointer(to: &request) { stored in
            let lent = stored.move()
            defer { stored.initialize(to: lent) }
            return try body(lent)
        }
    }

    /// The matched route (retained: for the paths that are not per request, or not this common).
    var route: Router.Route? { matchedRoute?.takeUnretainedValue() }

    /// The router's answer for this request, made from the fields above.
    var match: Router.Match {
        guard let route else { return unmatched }
        return .found(route, parameters: request.pathParameters)
    }
}
