import Foundation
@testable import HTTPServer
import Logging
import Synchronization
import TestSupport
import Testing

func echoRouter() -> Router {
    var router = Router()
    router.get("/hello") { _ in .text("hello") }
    router.post("/echo") { request in
        HTTPResponse(status: 200, contentType: "application/octet-stream", body: request.body)
    }
    router.get("/items/{id}/parts/{part}") { request in
        .text("\(request.pathParameters["id"] ?? "")|\(request.pathParameters["part"] ?? "")|\(request.route ?? "")")
    }
    router.delete("/items/{id}/parts/{part}") { _ in .empty(status: 204) }
    router.get("/query") { request in
        .text(request.query.values("site").joined(separator: ",") + ";" + (request.query["q"] ?? "-"))
    }
    router.get("/teapot") { _ in
        throw HTTPServerError.payloadTooLarge(limit: 7)
    }
    router.get("/crash") { _ in
        struct Opaque: Error {}
        throw Opaque()
    }
    return router
}

@Suite struct RoutingOverSocketTests {
    @Test func servesAKnownRoute() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.get("/hello")
            #expect(response.status == 200)
            #expect(response.text == "hello")
        }
    }

    @Test func extractsPathParametersAndNamesTheRoutePattern() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.get("/items/A-1/parts/b.2")
            #expect(response.text == "A-1|b.2|/items/{id}/parts/{part}")
        }
    }

    @Test func unknownPathIs404ProblemJSON() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.get("/nowhere")
            #expect(response.status == 404)
            #expect(response.header("content-type") == "application/problem+json")
            #expect(response.jsonObject["status"] as? Int == 404)
            #expect(response.jsonObject["title"] as? String == "Not Found")
            // A path with the right prefix but the wrong number of segments is unknown too.
            #expect(try client.get("/items/A-1/parts").status == 404)
        }
    }

    @Test func knownPathWithWrongMethodIs405WithAllow() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.request("PUT", "/items/1/parts/2", body: [])
            #expect(response.status == 405)
            #expect(response.header("allow") == "GET, HEAD, DELETE")
            #expect(response.header("content-type") == "application/problem+json")
        }
    }

    @Test func headIsServedByTheGetRouteWithoutABody() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.request("HEAD", "/hello")
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
        }
    }

    @Test func queryParametersAreDecodedAndRepeatable() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.get("/query?site=a&q=x%20y&site=b")
            #expect(response.text == "a,b;x y")
        }
    }

    @Test func handlerErrorsBecomeProblemDocuments() throws {
        try withServer(echoRouter()) { _, client in
            let known = try client.get("/teapot")
            #expect(known.status == 413)
            let unknown = try client.get("/crash")
            #expect(unknown.status == 500)
            #expect(unknown.header("content-type") == "application/problem+json")
            // The server is still alive after a handler error.
            #expect(try client.get("/hello").status == 200)
        }
    }
}

@Suite struct BodyLimitTests {
    @Test func acceptsABodyUpToTheLimit() throws {
        try withServer(echoRouter(), maxBody: 1024) { _, client in
            let body = [UInt8](repeating: 65, count: 1024)
            let response = try client.request("POST", "/echo", body: body)
            #expect(response.status == 200)
            #expect(response.body == body)
        }
    }

    @Test func refusesADeclaredOversizeBodyWith413() throws {
        try withServer(echoRouter(), maxBody: 1024) { _, client in
            let response = try client.request("POST", "/echo", body: [UInt8](repeating: 65, count: 1025))
            #expect(response.status == 413)
            #expect(response.header("content-type") == "application/problem+json")
        }
    }

    @Test func refusesAnOversizeChunkedBodyWith413() throws {
        try withServer(echoRouter(), maxBody: 1024) { _, client in
            let response = try client.chunked("POST", "/echo", body: [UInt8](repeating: 65, count: 5000), chunkSize: 700)
            #expect(response.status == 413)
            let small = try client.chunked("POST", "/echo", body: [UInt8](repeating: 66, count: 1000), chunkSize: 300)
            #expect(small.status == 200)
            #expect(small.body.count == 1000)
        }
    }
}

@Suite struct RequestIDTests {
    @Test func echoesAUsableRequestID() throws {
        try withServer(echoRouter()) { _, client in
            let response = try client.get("/hello", headers: [("X-Request-Id", "trace-42.a:b")])
            #expect(response.header("x-request-id") == "trace-42.a:b")
        }
    }

    @Test func generatesOneWhenAbsentOrUnusable() throws {
        try withServer(echoRouter()) { _, client in
            let first = try client.get("/hello").header("x-request-id")
            let second = try client.get("/hello", headers: [("X-Request-Id", "has spaces<script>")]).header("x-request-id")
            #expect(first != nil && second != nil)
            #expect(first != second)
            #expect(second != "has spaces<script>")
            // Error responses carry one too.
            #expect(try client.get("/nowhere").header("x-request-id") != nil)
        }
    }
}

@Suite struct EventLoopTests {
    /// Ids are made per event-loop thread (no shared counter): they must still never repeat.
    @Test func generatedIDsAreUniqueAcrossThreadsAndConnections() throws {
        try withServer(echoRouter()) { server, _ in
            let ids = Mutex<[String]>([])
            let threads = (0..<4).map { _ in
                Thread {
                    let client = HTTPTestClient(port: server.port)  // a connection each: both loops serve
                    for _ in 0..<50 {
                        if let id = try? client.get("/hello").header("x-request-id") { ids.withLock { $0.append(id) } }
                    }
                }
            }
            threads.forEach { $0.start() }
            try waitUntil("200 request ids") { ids.withLock({ $0.count }) >= 200 }
            let all = ids.withLock { $0 }
            #expect(Set(all).count == 200)
            let shape = /[0-9a-f]{4}-[0-9a-f]{10}/
            #expect(all.allSatisfy { $0.wholeMatch(of: shape) != nil })
            // One random process prefix.
            #expect(Set(all.map { $0.prefix(4) }).count == 1)
        }
    }

    @Test func requestsInFlightCountsABlockingRequestUntilItCompletes() throws {
        var router = Router()
        let release = Atomic<Bool>(false)
        router.post("/wait", mayBlock: true) { _ in
            try waitUntil("the test to release the handler") { release.load(ordering: .sequentiallyConsistent) }
            return .empty(status: 204)
        }
        router.get("/hello") { _ in .text("hello") }
        try withServer(router) { server, client throws in
            #expect(try client.get("/hello").status == 200)
            #expect(server.requestsInFlight == 0)
            let done = Atomic<Bool>(false)
            let thread = Thread {
                _ = try? HTTPTestClient(port: server.port).request("POST", "/wait", body: [])
                done.store(true, ordering: .sequentiallyConsistent)
            }
            thread.start()
            try waitUntil("the blocking request to begin") { server.requestsInFlight > 0 }
            #expect(server.requestsInFlight == 1)
            release.store(true, ordering: .sequentiallyConsistent)
            try waitUntil("the blocking request's response") { done.load(ordering: .sequentiallyConsistent) }
            try waitUntil("the in-flight count to drop") { server.requestsInFlight == 0 }
        }
    }

    /// Request headers are an owned copy: one kept past its request (or read on another thread)
    /// still holds its own values, never the next request's (another caller's credentials).
    @Test func headersKeptPastTheirRequestKeepTheirOwnValues() throws {
        var router = Router()
        let kept = Mutex<HTTPHeaders?>(nil)
        router.get("/keep") { request in
            kept.withLock { $0 = request.headers }
            return .text(request.headers["X-Secret"] ?? "-")
        }
        // Reads the kept headers while the same event loop (and the same reused state) serves this request.
        router.get("/other") { request in
            .text((request.headers["X-Secret"] ?? "-") + "|" + (kept.withLock { $0 }?["X-Secret"] ?? "-"))
        }
        // One event loop: the next request reuses the same state.
        let server = try startTestServer(router) { $0.threads = 1 }
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        #expect(try client.get("/keep", headers: [("X-Secret", "first")]).text == "first")
        #expect(try client.get("/other", headers: [("X-Secret", "second")]).text == "second|first")
        let headers = try #require(kept.withLock { $0 })
        // Read on this (test) thread, after the request ended.
        #expect(headers["X-Secret"] == "first")
        #expect(headers.fields.contains { $0.name.lowercased() == "host" })
    }

    /// The handler is lent the request its state holds, and states are reused: a request kept
    /// by a handler stays whole after its state served others, and nothing of one request (path
    /// parameters, route, query, fields, request id) shows in the next one on that state.
    @Test func aReusedRequestStateCarriesNothingOver() throws {
        var router = Router()
        let kept = Mutex<HTTPRequest?>(nil)
        let describe: @Sendable (borrowing HTTPRequest) -> String = { request in
            let parameters = request.pathParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ",")
            let fields = request.headers.fields.filter { !["host", "connection"].contains($0.name.lowercased()) }
                .map { "\($0.name)=\($0.value)" }
            let query = request.query.items.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
            return [
                request.method.rawValue, request.path, request.route ?? "-", parameters, query, fields.joined(separator: ","),
                request.requestID,
            ].joined(separator: "|")
        }
        router.get("/items/{id}/parts/{part}") { request in
            kept.withLock { $0 = copy request }
            return .text(describe(request))
        }
        router.get("/probe") { request in .text(describe(request)) }
        let server = try startTestServer(router) { $0.threads = 1 }  // one event loop: one reused state
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let expectedFirst = "GET|/items/A/parts/b|/items/{id}/parts/{part}|id=A,part=b|q=1|X-Request-Id=first-id,X-Note=n|first-id"
        let first = try client.get("/items/A/parts/b?q=1", headers: [("X-Request-Id", "first-id"), ("X-Note", "n")])
        #expect(first.text == expectedFirst)
        let second = try client.get("/probe")
        let id = try #require(second.header("x-request-id"))
        #expect(id != "first-id")
        #expect(second.text == "GET|/probe|/probe||||\(id)")
        // Unmatched after matched: a 404 that names no route, with a request id of its own.
        let missing = try client.get("/items/A/parts")
        #expect(missing.status == 404)
        #expect(missing.header("x-request-id") != "first-id")
        let request = try #require(kept.withLock { $0 })
        #expect(describe(request) == expectedFirst)
    }

    /// Field names are handed on as the client spelled them (common names become the server's
    /// constants only when every byte matches), and the query parameters, read in the same pass
    /// over libmicrohttpd's list, keep their order and repeats.
    @Test func fieldNamesKeepTheClientsSpellingAndQueryParametersTheirOrder() throws {
        #expect(commonHeaderName("Host") == "Host")
        #expect(commonHeaderName("If-None-Match") == "If-None-Match")
        #expect(commonHeaderName("host") == nil)
        #expect(commonHeaderName("Hostile") == nil)
        #expect(commonHeaderName("Accept-Encodin") == nil)
        #expect(commonHeaderName("X-Request-ID") == nil)
        var router = Router()
        router.get("/echo") { request in
            let names = request.headers.fields.map(\.name).filter { $0.lowercased() != "host" && $0.lowercased() != "connection" }
            let query = request.query.items.map { "\($0.name)=\($0.value)" }
            return .text(names.joined(separator: ",") + "|" + query.joined(separator: "&") + "|" + (request.headers["accept"] ?? "-"))
        }
        let server = try startTestServer(router) { $0.threads = 1 }
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let headers = [("Accept", "a/b"), ("user-agent", "u"), ("X-Request-ID", "r-1"), ("X-Other", "o"), ("ACCEPT-ENCODING", "e")]
        let answer = try client.get("/echo?b=2&a=1&b=3&flag", headers: headers).text
        #expect(answer == "Accept,user-agent,X-Request-ID,X-Other,ACCEPT-ENCODING|b=2&a=1&b=3&flag=|a/b")
    }

    /// A request without a body has no state until it needs one: a blocking route still gets it.
    @Test func aBodilessRequestRunsOnAWorkerWithItsHeaders() throws {
        var router = Router()
        router.delete("/items/{id}", mayBlock: true) { request in
            usleep(50_000)
            return .text("\(request.pathParameters["id"] ?? "")|\(request.headers["X-Test"] ?? "")")
        }
        try withServer(router) { _, client throws in
            let response = try client.request("DELETE", "/items/42", headers: [("X-Test", "kept")])
            #expect(response.status == 200)
            #expect(response.text == "42|kept")
            #expect(response.header("x-request-id") != nil)
            // The connection is kept alive and serves the next request.
            #expect(try client.request("DELETE", "/items/7").text == "7|")
        }
    }

    @Test func refusesMoreThreadsThanRequestIDsCanName() {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 257
        let server = HTTPServer(configuration: configuration, router: Router(), logger: Logger(label: "test"))
        #expect(throws: HTTPServerStartError.self) { try server.start() }
    }
}

@Suite struct GracefulShutdownTests {
    @Test func finishesARequestInFlightAndThenRefusesConnections() throws {
        var router = Router()
        let started = Atomic<Bool>(false)
        router.get("/slow") { _ in
            started.store(true, ordering: .sequentiallyConsistent)
            usleep(600_000)
            return .text("finished")
        }
        let server = try startTestServer(router) { $0.threads = 2 }
        let client = HTTPTestClient(port: server.port)
        let result = Mutex<TestResponse?>(nil)
        let thread = Thread {
            let response = try? client.get("/slow")
            result.withLock { $0 = response }
        }
        thread.start()
        try waitUntil("the slow request to start") { started.load(ordering: .sequentiallyConsistent) }
        server.stop()  // returns once the slow request is done (bounded by the drain timeout)
        try waitUntil("the client to read the response") { result.withLock { $0 } != nil }
        let response = result.withLock { $0 }
        #expect(response?.status == 200)
        #expect(response?.text == "finished")
        #expect(throws: (any Error).self) { try client.get("/slow") }
    }
}

extension GracefulShutdownTests {
    /// While a stop drains, a new connection is turned away at once (the accept policy closes it),
    /// not left waiting in the listen queue until the drain ends: `stop()` no longer quiesces the
    /// daemon, whose epoll race could abort the process (see `HTTPServer.stop()`).
    @Test func aConnectionOpenedDuringTheDrainIsClosedAtOnce() throws {
        var router = Router()
        let started = Atomic<Bool>(false)
        router.get("/slow") { _ in
            started.store(true, ordering: .sequentiallyConsistent)
            usleep(2_000_000)
            return .text("finished")
        }
        router.get("/fast") { _ in .text("fast") }
        let server = try startTestServer(router) { $0.threads = 2 }
        let client = HTTPTestClient(port: server.port)
        #expect(try client.get("/fast").status == 200)
        let slow = Mutex<TestResponse?>(nil)
        let request = Thread {
            let response = try? client.get("/slow")
            slow.withLock { $0 = response }
        }
        request.start()
        try waitUntil("the slow request to start") { started.load(ordering: .sequentiallyConsistent) }
        let stopped = Atomic<Bool>(false)
        let stopper = Thread {
            server.stop()
            stopped.store(true, ordering: .sequentiallyConsistent)
        }
        stopper.start()
        try waitUntil("a new connection to be turned away") { (try? client.get("/fast")) == nil }
        // Turned away while the slow request was still being answered.
        let answeredBeforeTurnedAway = slow.withLock { $0 } != nil
        let stoppedBeforeTurnedAway = stopped.load(ordering: .sequentiallyConsistent)
        #expect(!answeredBeforeTurnedAway)
        #expect(!stoppedBeforeTurnedAway)
        try waitUntil("the stop to finish") { stopped.load(ordering: .sequentiallyConsistent) }
        #expect(slow.withLock { $0 }?.status == 200)
        #expect(slow.withLock { $0 }?.text == "finished")
    }
}

@Suite struct BlockingHandlerTests {
    func server(threads: Int, release: Shared<Bool>? = nil) throws -> (HTTPServer, HTTPTestClient) {
        var router = Router()
        router.get("/fast") { _ in .text("fast") }
        router.post("/slow", mayBlock: true) { request in
            if let release {
                try waitUntil("the test to release the slow handler") { release.get() }
            } else {
                usleep(700_000)
            }
            return HTTPResponse(status: 201, contentType: "text/plain", body: request.body + Array("|\(request.headers["X-Test"] ?? "")".utf8))
        }
        let server = try startTestServer(router) { configuration in
            configuration.threads = threads
            configuration.blockingWorkers = 4
        }
        return (server, HTTPTestClient(port: server.port))
    }

    @Test func aBlockingHandlerRunsOnAWorkerAndTheEventLoopKeepsServing() throws {
        let release = Shared(false)
        let (server, client) = try server(threads: 1, release: release)
        defer { server.stop() }
        let slow = Mutex<TestResponse?>(nil)
        let thread = Thread {
            let response = try? client.request("POST", "/slow", headers: [("X-Test", "kept")], body: Array("body".utf8))
            slow.withLock { $0 = response }
        }
        thread.start()
        try waitUntil("the slow request to reach its worker") { server.requestsInFlight == 1 }
        // One event loop, and it serves while the slow handler is still held (no timing needed).
        #expect(try client.get("/fast").text == "fast")
        #expect(slow.withLock { $0 } == nil)
        release.set(true)
        try waitUntil("the slow response") { slow.withLock({ $0 }) != nil }
        let response = slow.withLock { $0 }
        #expect(response?.status == 201)
        #expect(response?.text == "body|kept")  // body and headers reach the worker
        #expect(response?.header("x-request-id") != nil)
    }

    @Test func aGracefulStopWaitsForABlockingHandler() throws {
        let (server, client) = try server(threads: 2)
        let result = Mutex<TestResponse?>(nil)
        let thread = Thread {
            let response = try? client.request("POST", "/slow", body: Array("x".utf8))
            result.withLock { $0 = response }
        }
        thread.start()
        try waitUntil("the slow request to begin") { server.requestsInFlight == 1 }
        server.stop()
        try waitUntil("the client to read the response") { result.withLock { $0 } != nil }
        #expect(result.withLock { $0 }?.status == 201)
    }
}
