import HTTPServer
import Logging
import TestSupport

/// A logger that keeps the test output to critical messages.
func quietLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// Starts a server on a free port with the access log off and a quiet logger; `configure` sets
/// what the test is about (threads, workers, drain, TLS). The caller stops it.
func startTestServer(
    _ router: Router, _ configure: (inout HTTPServerConfiguration) -> Void = { _ in }
) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration()
    configuration.port = 0
    configuration.accessLog.destination = .off
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger())
    try server.start()
    return server
}

/// Starts a server on a free port with the given router, runs `body`, stops the server.
func withServer(
    _ router: Router, maxBody: Int = 1024, _ body: (HTTPServer, HTTPTestClient) throws -> Void
) throws {
    let server = try startTestServer(router) { configuration in
        configuration.threads = 2
        configuration.maxBodyBytes = maxBody
        configuration.drainTimeoutSeconds = 5
    }
    defer { server.stop() }
    try body(server, HTTPTestClient(port: server.port))
}
