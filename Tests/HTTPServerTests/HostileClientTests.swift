import Foundation
import HTTPServer
import Logging
import Synchronization
import TestSupport
import Testing

private func hostileServer(
    _ configure: (inout HTTPServerConfiguration) -> Void = { _ in }, admission: Admission? = nil, bodyRead: Shared<Int>? = nil
) throws -> HTTPServer {
    var router = Router()
    router.get("/hello") { request in .text(request.path) }
    router.post("/upload", maxBodyBytes: 300_000_000, admission: admission) { request in
        bodyRead?.update { $0 += request.body.count }
        return .text("\(request.body.count)")
    }
    router.post("/open", admission: admission) { request in .text("\(request.body.count)") }
    return try startTestServer(router) { configuration in
        configuration.threads = 2
        configure(&configuration)
    }
}

private func head(_ lines: String...) -> [UInt8] {
    Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
}

@Suite struct StrictFramingTests {
    @Test func aPercentEncodedNULInThePathIs400() throws {
        let server = try hostileServer()
        defer { server.stop() }
        let response = try HTTPTestClient(port: server.port).get("/hello%00junk")
        #expect(response.status == 400)
        #expect(response.header("content-type") == "application/problem+json")
        // Elsewhere percent-encoding is decoded as before.
        #expect(try HTTPTestClient(port: server.port).get("/hell%6F").text == "/hello")
    }

    @Test func tooManyQueryParametersGet414AtOnce() throws {
        let server = try hostileServer()
        defer { server.stop() }
        let query = (0..<500).map { "p\($0)=1" }.joined(separator: "&")
        let response = try HTTPTestClient(port: server.port, timeoutSeconds: 10).get("/hello?" + query)
        #expect(response.status == 414)
        #expect(response.header("content-type") == "application/problem+json")
        let fine = (0..<100).map { "p\($0)=1" }.joined(separator: "&")
        #expect(try HTTPTestClient(port: server.port).get("/hello?" + fine).status == 200)
    }

    @Test func conflictingContentLengthsAre400() throws {
        let server = try hostileServer()
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let response = try client.raw(
            head("POST /open HTTP/1.1", "Host: x", "Connection: close", "Content-Length: 3", "Content-Length: 5") + Array("abcde".utf8))
        #expect(response.status == 400)
        #expect(response.header("content-type") == "application/problem+json")
    }

    @Test func contentLengthWithChunkedIs400() throws {
        let server = try hostileServer()
        defer { server.stop() }
        let response = try HTTPTestClient(port: server.port).raw(
            head("POST /open HTTP/1.1", "Host: x", "Connection: close", "Content-Length: 5", "Transfer-Encoding: chunked")
                + Array("5\r\nabcde\r\n0\r\n\r\n".utf8))
        #expect(response.status == 400)
    }

    @Test func duplicateAuthorizationOrContentTypeIs400() throws {
        let server = try hostileServer()
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let twoKeys = try client.get("/hello", headers: [("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
        #expect(twoKeys.status == 400)
        #expect(twoKeys.header("content-type") == "application/problem+json")
        let twoTypes = try client.request(
            "POST", "/open", headers: [("Content-Type", "application/json"), ("Content-Type", "text/plain")], body: Array("{}".utf8))
        #expect(twoTypes.status == 400)
        // One of each is fine.
        #expect(try client.get("/hello", headers: [("Authorization", "Bearer a")]).status == 200)
    }
}

@Suite struct ConnectionLimitTests {
    @Test func connectionsPastThePerAddressLimitAreClosedAtOnce() throws {
        let server = try hostileServer { $0.connectionsPerAddress = 3 }
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let held = try (0..<3).map { _ in try client.openConnection() }
        defer { held.forEach { close($0) } }
        let extra = try client.openConnection()
        defer { close(extra) }
        #expect(HTTPTestClient.isClosedByServer(extra))
        #expect(!HTTPTestClient.isClosedByServer(held[0], timeout: .milliseconds(200)))
        // Another address is not affected.
        let other = try client.openConnection(from: "127.0.0.2")
        defer { close(other) }
        #expect(!HTTPTestClient.isClosedByServer(other, timeout: .milliseconds(200)))
    }

    @Test func connectionsPastTheServerLimitAreClosedAtOnce() throws {
        let server = try hostileServer { $0.connectionLimit = 4 }
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let held = try (0..<4).map { _ in try client.openConnection() }
        defer { held.forEach { close($0) } }
        try waitUntil("the server to count the held connections") { server.currentConnections == 4 }
        let extra = try client.openConnection(from: "127.0.0.3")
        defer { close(extra) }
        #expect(HTTPTestClient.isClosedByServer(extra))
    }
}

@Suite struct HeaderDeadlineTests {
    /// A client trickling its headers one byte at a time is closed once the deadline passes,
    /// although it is never idle; a client that completes its headers is served.
    @Test func aSlowHeaderClientIsClosedAtTheDeadline() throws {
        let server = try hostileServer { $0.headerDeadlineSeconds = 1 }
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let slow = try client.openConnection()
        defer { close(slow) }
        _ = Array("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8).withUnsafeBytes { send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var closed = false
        // The deadline is 1 s (checked every second); give up after 10 s of trickling.
        for _ in 0..<50 where !closed {
            var byte: UInt8 = 0x61
            if send(slow, &byte, 1, Int32(MSG_NOSIGNAL)) < 0 { closed = true }
            if HTTPTestClient.isClosedByServer(slow, timeout: .milliseconds(200)) { closed = true }
        }
        #expect(closed)
        #expect(try client.get("/hello").status == 200)
    }
}

/// Credentials before bodies: a route's admission check runs on the headers.
@Suite struct AdmissionTests {
    struct Unauthorized: HTTPResponseError {
        var problem: ProblemDetails { ProblemDetails(status: 401, title: "Unauthorized", detail: "A key is required.") }
    }
    let admission: Admission = { request in
        guard request.headers["Authorization"] == "Bearer good" else { throw Unauthorized() }
        #expect(request.body.isEmpty)
    }

    @Test func aRefusedUploadIsAnsweredAtOnceWithoutReadingTheBody() throws {
        let bodyRead = Shared(0)
        let server = try hostileServer(admission: admission, bodyRead: bodyRead)
        defer { server.stop() }
        // 200 MB declared, none sent: the answer must come from the headers alone (the client's
        // read gives up after 10 s otherwise, failing the test; the connection timeout is 30 s).
        let response = try HTTPTestClient(port: server.port, timeoutSeconds: 10).raw(
            head("POST /upload HTTP/1.1", "Host: x", "Content-Type: application/json", "Content-Length: 200000000"))
        #expect(response.status == 401)
        #expect(response.header("content-type") == "application/problem+json")
        #expect(response.header("connection")?.lowercased() == "close")
        #expect(bodyRead.get() == 0)
    }

    @Test func aRefusedChunkedUploadIsAnsweredAtOnce() throws {
        let server = try hostileServer(admission: admission)
        defer { server.stop() }
        let response = try HTTPTestClient(port: server.port, timeoutSeconds: 10).raw(
            head("POST /upload HTTP/1.1", "Host: x", "Transfer-Encoding: chunked") + Array("10\r\n0123456789".utf8))
        #expect(response.status == 401)
    }

    @Test func anAdmittedUploadIsReadAndHandled() throws {
        let server = try hostileServer(admission: admission)
        defer { server.stop() }
        let client = HTTPTestClient(port: server.port)
        let response = try client.request("POST", "/open", headers: [("Authorization", "Bearer good")], body: Array("hello".utf8))
        #expect(response.status == 200)
        #expect(response.text == "5")
        // The same route without a key: refused, on the headers.
        #expect(try client.request("POST", "/open", body: Array("hello".utf8)).status == 401)
    }
}
