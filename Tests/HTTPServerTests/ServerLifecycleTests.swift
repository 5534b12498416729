import Foundation
import HTTPServer
import Logging
import TestSupport
import Testing

/// Threads and open descriptors of this process, from /proc.
private func processCounts() -> (threads: Int, fds: Int) {
    let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    return (threads, fds)
}

@Suite struct ServerLifecycleTests {
    /// Everything a server starts (daemon threads, workers, the log writer, sockets, epoll and
    /// event descriptors) ends with its stop. Other tests run in parallel in this process and start
    /// threads of their own, so the counts are compared once those settle (bounded wait): a leak
    /// of one thread or descriptor per cycle would leave 200 behind and never settle.
    @Test func twoHundredStartsAndStopsLeaveNoThreadOrDescriptorBehind() throws {
        var router = Router()
        router.get("/hello") { _ in .text("hello") }
        router.post("/slow", mayBlock: true) { _ in .text("done") }
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.blockingWorkers = 3
        configuration.accessLog.destination = .off
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // One server first, so that one-time process state (Foundation's, the metrics system's) exists.
        do {
            let warm = HTTPServer(configuration: configuration, router: router, logger: logger)
            try warm.start()
            _ = try HTTPTestClient(port: warm.port).request("POST", "/slow", body: [])
            warm.stop()
        }
        let before = processCounts()
        for cycle in 0..<200 {
            let server = HTTPServer(configuration: configuration, router: router, logger: logger)
            try server.start()
            if cycle % 20 == 0 {
                // Some cycles serve a request on an event loop and one on a worker.
                let client = HTTPTestClient(port: server.port)
                #expect(try client.get("/hello").status == 200)
                #expect(try client.request("POST", "/slow", body: []).status == 200)
            }
            server.stop()
        }
        var after = processCounts()
        do {
            try waitUntil("threads and descriptors back to \(before) (now \(after))", timeout: .seconds(20)) {
                after = processCounts()
                return after.threads <= before.threads && after.fds <= before.fds
            }
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func stopWithoutStartAndTwiceIsHarmless() throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.accessLog.destination = .off
        let server = HTTPServer(configuration: configuration, router: Router(), logger: Logger(label: "test"))
        server.stop()
        try server.start()
        server.stop()
        server.stop()
    }
}
