import Foundation
@testable import HTTPServer
import Logging
import TestSupport
import Testing

@Suite struct AccessLogTests {
    @Test func aTextLineNamesMethodRouteStatusDurationAndRequestID() {
        var line = FormattedLogLine()
        line.format(.text, method: "GET", route: "/v1/cases/{external_id}", status: 404, nanoseconds: 1_234_567, requestID: "ab-1")
        let text = String(decoding: line.bytes, as: UTF8.self)
        #expect(text.hasSuffix(" GET /v1/cases/{external_id} 404 1.234ms ab-1\n"))
        #expect(text.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [^\n]*\n/) != nil)
    }

    @Test func aJSONLineIsOneObject() throws {
        var line = FormattedLogLine()
        line.format(.json, method: "PO\"ST", route: "/x", status: 201, nanoseconds: 999, requestID: "r")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any])
        #expect(object["method"] as? String == "PO?ST")  // a client's odd method cannot close the string
        #expect(object["route"] as? String == "/x")
        #expect(object["status"] as? Int == 201)
        #expect(object["duration_ms"] as? Double == 0.0)
        #expect(object["request_id"] as? String == "r")
        #expect(line.bytes.last == 0x0A)
    }

    /// The line is formatted into a fixed buffer: long values are cut, the newline always ends
    /// it, and the buffer is reused line after line without leftovers.
    @Test func longValuesAreCutAndEveryLineEndsWithItsNewline() {
        var line = FormattedLogLine()
        let longMethod = String(repeating: "M", count: 100)
        let longID = String(repeating: "i", count: 5_000)
        line.format(.text, method: longMethod, route: "/r\n", status: 200, nanoseconds: 12_000_000_000, requestID: longID)
        let text = String(decoding: line.bytes, as: UTF8.self)
        #expect(line.bytes.count < AccessLogLine.capacity)
        #expect(text.hasSuffix("ms " + String(repeating: "i", count: 256) + "\n"))
        #expect(text.filter { $0 == "\n" }.count == 1)
        #expect(text.contains(" " + String(repeating: "M", count: 32) + " /r? 200 12000.000ms iii"))
        line.format(.text, method: "GET", route: "/healthz", status: 200, nanoseconds: 0, requestID: "x")
        #expect(String(decoding: line.bytes, as: UTF8.self).hasSuffix("Z GET /healthz 200 0.000ms x\n"))
    }

    /// The method, route and status part is kept from the line before when they repeat: a line
    /// with any of them (or the format) changed must not carry the previous line's part.
    @Test func eachLineNamesItsOwnMethodRouteAndStatusWhenTheyChangeBetweenLines() throws {
        var line = FormattedLogLine()
        let lines: [(AccessLogConfiguration.Format, String, String, Int, String)] = [
            (.text, "GET", "/healthz", 200, " GET /healthz 200 0.001ms a\n"),
            (.text, "GET", "/healthz", 200, " GET /healthz 200 0.001ms a\n"),
            (.text, "GET", "/healthz", 503, " GET /healthz 503 0.001ms a\n"),
            (.text, "HEAD", "/healthz", 503, " HEAD /healthz 503 0.001ms a\n"),
            (.text, "HEAD", "/readyz", 503, " HEAD /readyz 503 0.001ms a\n"),
            (.text, "GET", "/healthz", 200, " GET /healthz 200 0.001ms a\n"),
        ]
        for (format, method, route, status, suffix) in lines {
            line.format(format, method: method, route: route, status: status, nanoseconds: 1_000, requestID: "a")
            #expect(String(decoding: line.bytes, as: UTF8.self).hasSuffix(suffix))
        }
        line.format(.json, method: "GET", route: "/healthz", status: 200, nanoseconds: 1_000, requestID: "a")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any])
        #expect(object["method"] as? String == "GET")
        #expect(object["route"] as? String == "/healthz")
        #expect(object["status"] as? Int == 200)
        line.format(.text, method: "GET", route: "/healthz", status: 200, nanoseconds: 1_000, requestID: "a")
        #expect(String(decoding: line.bytes, as: UTF8.self).hasSuffix("Z GET /healthz 200 0.001ms a\n"))
    }

    /// Lines reach the file by time (without a stop), and every line is there after a stop.
    /// Never a query value or a path value: the route pattern stands for the path.
    @Test func writesToAFileByTimeAndAtStopWithoutValues() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("access.log")
        let server = try startServerLogging(to: path, threads: 2) { $0.accessLog.format = .json }
        let client = HTTPTestClient(port: server.port)
        #expect(try client.get("/cases/PATIENT-SECRET?name=ALSO-SECRET").status == 200)
        try waitUntil("the first line to be written by time") {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains("/cases/{id}")
        }
        for _ in 0..<20 { _ = try client.get("/cases/1") }
        server.stop()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 21)
        #expect(!text.contains("SECRET"))
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    /// A server whose log would wait minutes by time writes as soon as a buffer holds
    /// `flushBytes` (by size), and whatever is left at its stop.
    @Test func writesToAFileBySizeAndTheRestAtStop() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("access.log")
        let server = try startServerLogging(to: path, threads: 1) {
            $0.accessLog.flushIntervalMilliseconds = 600_000
            $0.accessLog.flushBytes = 1_000
        }
        let client = HTTPTestClient(port: server.port)
        func lines() -> Int { ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count }
        // A line is ~70 bytes: 30 requests pass 1,000 bytes at least once.
        for _ in 0..<30 { #expect(try client.get("/cases/1").status == 200) }
        try waitUntil("lines to be written by size, long before their time") { lines() > 0 }
        server.stop()
        #expect(lines() == 30)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").allSatisfy { $0.contains(" GET /cases/{id} 200 ") })
    }

    /// With neither the time nor the size reached, every line is written at the stop.
    @Test func writesEveryLineAtStopWhenNeitherTimeNorSizeCame() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("access.log")
        let server = try startServerLogging(to: path, threads: 2) {
            $0.accessLog.flushIntervalMilliseconds = 600_000
            $0.accessLog.flushBytes = 1 << 20
        }
        let client = HTTPTestClient(port: server.port)
        for _ in 0..<25 { #expect(try client.get("/cases/1").status == 200) }
        #expect(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").isEmpty)
        server.stop()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 25)
        #expect(lines.allSatisfy { $0.contains(" GET /cases/{id} 200 ") })
    }

    @Test func offWritesNothingAndAnUnwritablePathFailsTheStart() throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.accessLog.destination = .file("/nonexistent-folder/access.log")
        let server = HTTPServer(configuration: configuration, router: Router(), logger: Logger(label: "test"))
        #expect(throws: HTTPServerStartError.self) { try server.start() }
    }

    /// A started server with one route, `/cases/{id}`, logging to the file at `path`.
    private func startServerLogging(
        to path: String, threads: Int, _ configure: (inout HTTPServerConfiguration) -> Void
    ) throws -> HTTPServer {
        var router = Router()
        router.get("/cases/{id}") { _ in .text("ok") }
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = threads
        configuration.accessLog.destination = .file(path)
        configure(&configuration)
        let server = HTTPServer(configuration: configuration, router: router, logger: Logger(label: "test"))
        try server.start()
        return server
    }
}

/// An `AccessLogLine` that formats into a buffer of its own and keeps the last line, as the tests
/// read it (the server formats straight into its log ring).
struct FormattedLogLine: ~Copyable {
    private var line = AccessLogLine()
    private(set) var bytes: [UInt8] = []

    mutating func format(
        _ format: AccessLogConfiguration.Format, method: String, route: String, status: Int, nanoseconds: UInt64, requestID: String
    ) {
        bytes = [UInt8](unsafeUninitializedCapacity: AccessLogLine.capacity) { buffer, count in
            count = line.format(
                into: buffer.baseAddress!, format, method: method, route: route, status: status, nanoseconds: nanoseconds,
                requestID: requestID)
        }
    }
}
