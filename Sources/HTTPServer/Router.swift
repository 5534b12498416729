import Foundation

/// A route handler. Throw any `HTTPResponseError` to answer with a problem document.
public typealias Handler = @Sendable (borrowing HTTPRequest) throws -> HTTPResponse

/// A check a route runs on the request's headers, before a single byte of its body is read (the
/// request it sees has an empty body). Throwing refuses the request: the error is answered at once
/// (mapped like a handler's) and the connection is closed without reading the body.
public typealias Admission = @Sendable (borrowing HTTPRequest) throws -> Void

/// A route's try at answering on the event loop, where nothing may block (no disk, no long
/// computation): the response when it has one at hand (a cached result, a 304), or nil to have the
/// request's handler run on a worker. A thrown error is answered like the handler's.
public typealias EventLoopAttempt = @Sendable (borrowing HTTPRequest) throws -> HTTPResponse?

/// Matches method and path (with `{name}` parameters) to a handler.
/// A known path with another method -> 405 with `Allow`; an unknown path -> 404.
public struct Router: Sendable {
    /// A class so that a match hands it on with one reference count, not six fields.
    final class Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let maxBodyBytes: Int?
        let mayBlock: Bool
        let admission: Admission?
        let handler: Handler
        /// For a route that may block: tried on the event loop first (see `EventLoopAttempt`).
        let eventLoopAttempt: EventLoopAttempt?
        /// The route's own answer to a body over its limit (FHIR routes answer an OperationOutcome).
        let tooLarge: (@Sendable (Int) -> HTTPResponse)?
        /// The pattern's UTF-8 bytes, to compare with a path still in libmicrohttpd's memory.
        let patternBytes: [UInt8]

        init(
            method: HTTPMethod, pattern: String, segments: [Segment], maxBodyBytes: Int?, mayBlock: Bool, admission: Admission?,
            handler: @escaping Handler, tooLarge: (@Sendable (Int) -> HTTPResponse)? = nil, eventLoopAttempt: EventLoopAttempt? = nil
        ) {
            self.tooLarge = tooLarge
            self.eventLoopAttempt = eventLoopAttempt
            self.method = method
            self.pattern = pattern
            self.patternBytes = Array(pattern.utf8)
            self.segments = segments
            self.maxBodyBytes = maxBodyBytes
            self.mayBlock = mayBlock
            self.admission = admission
            self.handler = handler
        }

        /// HEAD is served by the GET route.
        func serves(_ requested: HTTPMethod) -> Bool {
            method == requested || (requested == .head && method == .get)
        }
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    enum Match: Sendable {
        case found(Route, parameters: [String: String])
        case methodNotAllowed([HTTPMethod])
        case notFound
    }

    private var routes: [Route] = []
    /// Routes without parameters, compared whole: most requests are answered without splitting
    /// the path. A short list compared by length first costs less than hashing the path.
    ///
    /// Unretained: `routes` keeps them. Looked through on every request of both event loops, a
    /// list of strong references would have each visited route retained and released (an object
    /// the two cores share: its cache line would go back and forth between them).
    private var literalRoutes: [Unmanaged<Route>] = []
    /// Maps an error a handler threw, which the HTTP layer does not know, to a response.
    private let errorMapper: @Sendable (any Error, HTTPRequest) -> HTTPResponse

    public init(errorMapper: @escaping @Sendable (any Error, HTTPRequest) -> HTTPResponse = Router.defaultErrorMapper) {
        self.errorMapper = errorMapper
    }

    public static let defaultErrorMapper: @Sendable (any Error, HTTPRequest) -> HTTPResponse = { error, _ in
        if let error = error as? any HTTPResponseError { return error.response }
        return ProblemDetails(status: 500, title: "Internal Server Error", detail: "The server could not complete the request.").response
    }

    /// Every registered (method, pattern), in registration order: what openapi.yaml must describe.
    public var routeTable: [(method: HTTPMethod, pattern: String)] { routes.map { ($0.method, $0.pattern) } }

    /// - Parameters:
    ///   - mayBlock: the handler waits on the disk or computes for long: run it off the event loop.
    ///   - admission: checked on the headers of a request with a body, before the body is read.
    ///   - eventLoopAttempt: for a route that may block, an answer it can give on the event loop.
    public mutating func add(
        _ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int? = nil, mayBlock: Bool = false, admission: Admission? = nil,
        tooLarge: (@Sendable (Int) -> HTTPResponse)? = nil, eventLoopAttempt: EventLoopAttempt? = nil, _ handler: @escaping Handler
    ) {
        let segments: [Segment] = Router.split(pattern).map { segment in
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                return .parameter(String(segment.dropFirst().dropLast()))
            }
            return .literal(String(segment))
        }
        let route = Route(
            method: method, pattern: pattern, segments: segments, maxBodyBytes: maxBodyBytes, mayBlock: mayBlock,
            admission: admission, handler: handler, tooLarge: tooLarge, eventLoopAttempt: eventLoopAttempt)
        routes.append(route)
        if !segments.contains(where: { if case .parameter = $0 { true } else { false } }) {
            literalRoutes.append(Unmanaged.passUnretained(route))
        }
    }

    /// - Parameter eventLoopAttempt: with `mayBlock`, tried on the event loop first; only a request
    ///   it gives no answer to goes to a worker (a cached or unchanged result costs no hand-off).
    public mutating func get(
        _ pattern: String, mayBlock: Bool = false, eventLoopAttempt: EventLoopAttempt? = nil, _ handler: @escaping Handler
    ) {
        add(.get, pattern, mayBlock: mayBlock, eventLoopAttempt: eventLoopAttempt, handler)
    }
    /// - Parameter tooLarge: the route's own 413 (given the limit in bytes) instead of problem+json.
    public mutating func post(
        _ pattern: String, maxBodyBytes: Int? = nil, mayBlock: Bool = false, admission: Admission? = nil,
        tooLarge: (@Sendable (Int) -> HTTPResponse)? = nil, _ handler: @escaping Handler
    ) {
        add(.post, pattern, maxBodyBytes: maxBodyBytes, mayBlock: mayBlock, admission: admission, tooLarge: tooLarge, handler)
    }
    public mutating func put(_ pattern: String, mayBlock: Bool = false, admission: Admission? = nil, _ handler: @escaping Handler) {
        add(.put, pattern, mayBlock: mayBlock, admission: admission, handler)
    }
    public mutating func patch(_ pattern: String, mayBlock: Bool = false, admission: Admission? = nil, _ handler: @escaping Handler) {
        add(.patch, pattern, mayBlock: mayBlock, admission: admission, handler)
    }
    public mutating func delete(_ pattern: String, mayBlock: Bool = false, _ handler: @escaping Handler) {
        add(.delete, pattern, mayBlock: mayBlock, handler)
    }

    static func split<S: StringProtocol>(_ path: S) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { Substring($0) }
    }

    /// Runs a route's admission check; the refusal response when it throws.
    func admit(_ request: borrowing HTTPRequest, route: Route, admission: Admission) -> HTTPResponse? {
        do {
            try admission(request)
            return nil
        } catch {
            var response = errorMapper(error, copy request)
            response.route = route.pattern
            return response
        }
    }

    /// Runs a route's attempt on the event loop: its response (route set, errors mapped like a
    /// handler's), or nil when the request needs a worker.
    func attemptOnEventLoop(_ request: borrowing HTTPRequest, route: Route, attempt: EventLoopAttempt) -> HTTPResponse? {
        var response: HTTPResponse
        do {
            guard let answered = try attempt(request) else { return nil }
            response = answered
        } catch {
            response = errorMapper(error, copy request)
        }
        response.route = route.pattern
        return response
    }

    /// The answer to a body over `limit` bytes: the route's own rendering, else problem+json.
    static func payloadTooLarge(route: Route?, limit: Int) -> HTTPResponse {
        if let render = route?.tooLarge { return render(limit) }
        return HTTPServerError.payloadTooLarge(limit: limit).response
    }

    /// Finds the route for a method and path. HEAD is served by the GET route.
    /// The literal route serving `method` whose pattern is exactly the `length` bytes at `path`
    /// (the path as libmicrohttpd passes it), else nil. The server tries it before making a path
    /// string: the route's own pattern then serves as the request's path (same bytes). Anything
    /// else goes through `match`, which answers the same for these bytes.
    ///
    /// Unretained: the router keeps its routes as long as it exists, and the server, which uses
    /// this on every request of both event loops, would otherwise change the count of an object
    /// the two cores share (see `RequestState.matchedRoute`).
    func literalRoute(_ path: UnsafePointer<CChar>, length: Int, method: HTTPMethod) -> Unmanaged<Route>? {
        guard length > 0 else { return nil }
        for literal in literalRoutes {
            let found = literal._withUnsafeGuaranteedRef { route in
                route.patternBytes.count == length && route.serves(method)
                    && route.patternBytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, path, length) == 0 }
            }
            if found { return literal }
        }
        return nil
    }

    func match(_ method: HTTPMethod, path: String) -> Match {
        let length = path.utf8.count
        for literal in literalRoutes {
            let route = literal.takeUnretainedValue()
            if route.pattern.utf8.count == length && route.pattern == path && route.serves(method) {
                return .found(route, parameters: [:])
            }
        }
        guard path.hasPrefix("/") else { return .notFound }
        let parts = Router.split(path)
        var allowed: [HTTPMethod] = []
        for route in routes where route.segments.count == parts.count {
            var parameters: [String: String] = [:]
            var matches = true
            for (segment, part) in zip(route.segments, parts) {
                switch segment {
                case .literal(let literal):
                    if literal != part { matches = false }
                case .parameter(let name):
                    if part.isEmpty { matches = false } else { parameters[name] = String(part) }
                }
                if !matches { break }
            }
            guard matches else { continue }
            if route.serves(method) { return .found(route, parameters: parameters) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.insert(.head, at: allowed.firstIndex(of: .get)! + 1) }
        return .methodNotAllowed(allowed)
    }

    /// Matches and answers a request in process, without a socket (tests do this).
    public func respond(to request: consuming HTTPRequest) -> HTTPResponse {
        var request = request  // a move, not a copy: the parameter is consumed
        let match = match(request.method, path: request.path)
        if case .found(let route, let parameters) = match {
            request.pathParameters = parameters
            request.route = route.pattern
            // As the server does: a route's event-loop answer first, its handler only without one.
            if let attempt = route.eventLoopAttempt, let response = attemptOnEventLoop(request, route: route, attempt: attempt) {
                return response
            }
        }
        return respond(to: request, match: match)
    }

    /// Runs the route's handler (errors mapped to responses) for a request matched to it.
    func respond(to request: borrowing HTTPRequest, route: Route) -> HTTPResponse {
        var response: HTTPResponse
        do {
            response = try route.handler(request)
        } catch {
            response = errorMapper(error, copy request)
        }
        response.route = route.pattern
        return response
    }

    /// Answers a request already matched, whose `pathParameters` and `route` come from that match
    /// (the server matches once, to decide where to run the handler, and builds the request so).
    func respond(to request: borrowing HTTPRequest, match: Match) -> HTTPResponse {
        switch match {
        case .found(let route, _):
            return respond(to: request, route: route)
        case .methodNotAllowed(let allowed):
            return HTTPServerError.methodNotAllowed(allowed: allowed).response
        case .notFound:
            return HTTPServerError.notFound.response
        }
    }
}
