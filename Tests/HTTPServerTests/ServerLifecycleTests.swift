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
    /// Everything a server starts (daemon threads, workers, the log writer, the deadline reaper,
    /// sockets, epoll and event descriptors) ends with its stop. Every cycle serves a request on an
    /// event loop and one on a worker, so a leak per server or per request leaves at least 200
    /// threads or descriptors behind. Other suites run in parallel in this process and hold
    /// threads and sockets of their own for a while, so the counts are compared after a bounded
    /// wait for them to settle back to the baseline; if the neighbours are still busy then, a
    /// difference far below one per cycle (under 50) is attributed to them, not to a leak.
    @Test func twoHundredStartsAndStopsLeaveNoThreadOrDescriptorBehind() throws {
        var router = Router()
        router.get("/hello") { _ in .text("hello") }
        router.post("/slow", mayBlock: true) { _ in .text("done") }
        let configure = { (configuration: inout HTTPServerConfiguration) in
            configuration.threads = 2
            configuration.blockingWorkers = 3
        }
        // One server first, so that one-time process state (Foundation's, the metrics system's) exists.
        do {
            let warm = try startTestServer(router, configure)
            _ = try HTTPTestClient(port: warm.port).request("POST", "/slow", body: [])
            warm.stop()
        }
        let before = processCounts()
        for cycle in 0..<200 {
            let server = try startTestServer(router, configure)
            let client = HTTPTestClient(port: server.port)
            #expect(try client.get("/hello").status == 200, "cycle \(cycle)")
            #expect(try client.request("POST", "/slow", body: []).status == 200, "cycle \(cycle)")
            server.stop()
        }
        var after = processCounts()
        do {
            try waitUntil("threads and descriptors back to \(before)", timeout: .seconds(30)) {
                after = processCounts()
                return after.threads <= before.threads && after.fds <= before.fds
            }
        } catch {
            #expect(after.threads - before.threads < 50, "threads: \(before.threads) before, \(after.threads) after 200 cycles")
            #expect(after.fds - before.fds < 50, "descriptors: \(before.fds) before, \(after.fds) after 200 cycles")
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

    /// A handler that outlives the drain (a large import whose client went away) does not keep the
    /// process from stopping, nor crash it: libmicrohttpd aborts in `MHD_stop_daemon` while a
    /// connection is suspended, so the stop resumes it to be closed unanswered, and the worker
    /// finishes on its own later without touching the freed connection.
    @Test func aStopWhoseDrainEndsBeforeAWorkerFinishesClosesItsConnectionUnanswered() throws {
        let started = Shared(false)
        let release = Shared(false)
        let finished = Shared(false)
        var router = Router()
        router.post("/slow", mayBlock: true) { _ in
            started.set(true)
            try? waitUntil("the test to release the handler", timeout: .seconds(60)) { release.get() }
            finished.set(true)
            return .text("late")
        }
        let server = try startTestServer(router) { configuration in
            configuration.threads = 1
            configuration.blockingWorkers = 2
            configuration.drainTimeoutSeconds = 0.2
        }
        defer { release.set(true) }
        let client = HTTPTestClient(port: server.port, timeoutSeconds: 30)
        let answer = Shared<String?>(nil)
        let thread = Thread {
            do {
                let response = try client.request("POST", "/slow", body: Array("x".utf8))
                answer.set("status \(response.status)")
            } catch {
                answer.set("no answer")
            }
        }
        thread.start()
        try waitUntil("the handler to start") { started.get() }

        let outcome = server.stop()
        #expect(outcome.handlersStillRunning == 1)
        #expect(outcome.unanswered == 1)
        try waitUntil("the client to see its connection end") { answer.get() != nil }
        #expect(answer.get() == "no answer")
        #expect(!finished.get())
        release.set(true)
        try waitUntil("the detached handler to finish") { finished.get() }
    }

    /// A request on a worker whose client has gone cannot be answered: the drain does not wait
    /// for it (libmicrohttpd does not watch a suspended connection, so the server looks itself).
    @Test func theDrainDoesNotWaitForAWorkerWhoseClientLeft() throws {
        let started = Shared(false)
        let release = Shared(false)
        var router = Router()
        router.post("/slow", mayBlock: true) { _ in
            started.set(true)
            try? waitUntil("the test to release the handler", timeout: .seconds(120)) { release.get() }
            return .text("late")
        }
        let server = try startTestServer(router) { configuration in
            configuration.threads = 1
            configuration.blockingWorkers = 2
            configuration.drainTimeoutSeconds = 100
        }
        defer { release.set(true) }
        let client = HTTPTestClient(port: server.port)
        let fd = try client.openConnection()
        let request = Array("POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx".utf8)
        #expect(write(fd, request, request.count) == request.count)
        try waitUntil("the handler to start") { started.get() }
        close(fd)

        // Stopped on another thread, so that a drain that waits its 100 s fails this test at the
        // deadline instead of holding it.
        let outcome = Shared<HTTPServer.StopOutcome?>(nil)
        let stopper = Thread { outcome.set(server.stop()) }
        stopper.start()
        try waitUntil("the stop to end without waiting for the gone client", timeout: .seconds(20)) { outcome.get() != nil }
        #expect(outcome.get()?.handlersStillRunning == 1)
        #expect(outcome.get()?.unanswered == 1)
    }
}
