import HTTPServer
import Testing

/// The router in process, without a socket.
@Suite struct RouterTests {
    @Test func literalSegmentsBeatNothingButMustMatchExactly() {
        var router = Router()
        router.get("/v1/cases") { _ in .text("list") }
        router.get("/v1/cases/{id}") { _ in .text("one") }
        router.get("/v1/cases/{id}/history") { _ in .text("history") }
        #expect(String(decoding: router.respond(to: HTTPRequest(method: .get, path: "/v1/cases")).body, as: UTF8.self) == "list")
        #expect(String(decoding: router.respond(to: HTTPRequest(method: .get, path: "/v1/cases/x")).body, as: UTF8.self) == "one")
        #expect(
            String(decoding: router.respond(to: HTTPRequest(method: .get, path: "/v1/cases/x/history")).body, as: UTF8.self)
                == "history")
        #expect(router.respond(to: HTTPRequest(method: .get, path: "/v1/cases/")).status == 404)
        #expect(router.respond(to: HTTPRequest(method: .get, path: "/v1/casesx")).status == 404)
        #expect(router.respond(to: HTTPRequest(method: .get, path: "relative")).status == 404)
    }

    @Test func methodNotAllowedListsEveryMethodOfThePath() {
        var router = Router()
        router.post("/v1/things") { _ in .empty(status: 201) }
        router.get("/v1/things") { _ in .empty(status: 200) }
        let response = router.respond(to: HTTPRequest(method: .delete, path: "/v1/things"))
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "POST, GET, HEAD")
    }

    @Test func problemDetailsCarryFieldErrors() {
        let problem = ProblemDetails(
            status: 422, title: "Invalid", detail: "2 fields", errors: [.init(path: "/sex", code: "invalid_enum", message: "m")])
        let text = String(decoding: problem.response.body, as: UTF8.self)
        #expect(text == #"{"detail":"2 fields","errors":[{"code":"invalid_enum","message":"m","path":"\/sex"}],"status":422,"title":"Invalid","type":"about:blank"}"#.replacingOccurrences(of: "\\/", with: "/"))
        #expect(problem.response.headers["Content-Type"] == "application/problem+json")
    }
}
