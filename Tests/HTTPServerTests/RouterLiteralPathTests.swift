import Testing

@testable import HTTPServer

/// The server's literal-route fast path (`Router.literalRoute`, tried on libmicrohttpd's bytes
/// before a path string is made) must agree with `Router.match` whenever it answers.
@Suite struct RouterLiteralPathTests {
    private func router() -> Router {
        var router = Router()
        router.get("/healthz") { _ in .text("ok") }
        router.get("/v1/cases") { _ in .text("list") }
        router.post("/v1/cases") { _ in .empty(status: 201) }
        router.get("/v1/cases/{id}") { _ in .text("one") }
        return router
    }

    private func literal(_ router: Router, _ method: HTTPMethod, _ path: String) -> Router.Route? {
        // Unretained by design: `router` (and so its routes) outlives this use.
        path.withCString { router.literalRoute($0, length: path.utf8.count, method: method)?.takeUnretainedValue() }
    }

    @Test func aLiteralRouteIsFoundOnlyForItsExactBytesAndAMethodItServes() {
        let router = router()
        #expect(literal(router, .get, "/healthz")?.pattern == "/healthz")
        #expect(literal(router, .head, "/healthz")?.pattern == "/healthz")
        #expect(literal(router, .post, "/healthz") == nil)
        #expect(literal(router, .post, "/v1/cases")?.method == .post)
        #expect(literal(router, .get, "/v1/cases")?.method == .get)
        for path in ["/healthzx", "/health", "/Healthz", "/healthz/", "/v1/cases/x", "", "/"] {
            #expect(literal(router, .get, path) == nil, "\(path)")
        }
    }

    @Test func whateverTheFastPathFindsMatchFindsToo() {
        let router = router()
        let paths = ["/healthz", "/v1/cases", "/v1/cases/7", "/healthzx", "/", "", "relative", "/v1/cases/"]
        for method in [HTTPMethod.get, .head, .post, .delete] {
            for path in paths {
                guard let fast = literal(router, method, path) else { continue }
                guard case .found(let route, let parameters) = router.match(method, path: path) else {
                    Issue.record("\(method) \(path): the fast path found a route, match did not")
                    continue
                }
                #expect(route === fast, "\(method) \(path)")
                #expect(parameters.isEmpty)
            }
        }
    }
}
