import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A response as read off the socket.
public struct TestResponse: Sendable {
    public let status: Int
    /// Header names lowercased.
    public let headers: [String: String]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed with Foundation (tests only).
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
    public var jsonObject: [String: Any] { json as? [String: Any] ?? [:] }
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

public enum TestClientError: Error { case connect(Int32), malformed(String) }

/// A minimal HTTP/1.1 client over a real TCP socket to 127.0.0.1, one connection per request
/// (`Connection: close`), so tests exercise exactly what curl would.
public struct HTTPTestClient: Sendable {
    public let port: UInt16
    /// How long a read may wait for the server before the request fails (a deadline, not a
    /// performance bound: generous, because the machine running the tests may be busy).
    public let timeoutSeconds: Int

    public init(port: UInt16, timeoutSeconds: Int = 60) {
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    public func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws -> TestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body, !headers.contains(where: { $0.0.lowercased() == "transfer-encoding" }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return try raw(Array(head.utf8) + (body ?? []))
    }

    public func get(_ path: String, headers: [(String, String)] = []) throws -> TestResponse {
        try request("GET", path, headers: headers)
    }

    public func send(
        _ method: String, _ path: String, json: String, contentType: String = "application/json", headers: [(String, String)] = []
    ) throws -> TestResponse {
        try request(method, path, headers: [("Content-Type", contentType)] + headers, body: Array(json.utf8))
    }

    /// Sends a body with chunked transfer encoding, in chunks of `chunkSize` bytes.
    public func chunked(_ method: String, _ path: String, body: [UInt8], chunkSize: Int = 16 * 1024, headers: [(String, String)] = [])
        throws -> TestResponse
    {
        var bytes = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n".utf8)
        for (name, value) in headers { bytes += Array("\(name): \(value)\r\n".utf8) }
        bytes += Array("\r\n".utf8)
        var offset = 0
        while offset < body.count {
            let end = min(offset + chunkSize, body.count)
            bytes += Array((String(end - offset, radix: 16) + "\r\n").utf8) + body[offset..<end] + Array("\r\n".utf8)
            offset = end
        }
        bytes += Array("0\r\n\r\n".utf8)
        return try raw(bytes)
    }

    /// Writes raw bytes and reads until the server closes the connection.
    public func raw(_ bytes: [UInt8]) throws -> TestResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.connect(errno) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestClientError.connect(errno) }
        // The server may answer (413) and close before the whole body is written: ignore write errors.
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            written += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return try TestResponse.parse(received)
    }
}

extension TestResponse {
    public static func parse(_ bytes: [UInt8]) throws -> TestResponse {
        // Skip interim 1xx responses (100 Continue).
        var data = bytes[...]
        while true {
            guard let end = data.firstRange(of: Array("\r\n\r\n".utf8)) else {
                throw TestClientError.malformed("no header terminator in \(data.count) bytes")
            }
            let head = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestClientError.malformed(head) }
            data = data[end.upperBound...]
            if status >= 100 && status < 200 { continue }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var body = Array(data)
            if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
            return TestResponse(status: status, headers: headers, body: body)
        }
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var rest = bytes[...]
        while let lineEnd = rest.firstRange(of: Array("\r\n".utf8)) {
            let sizeText = String(decoding: rest[rest.startIndex..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size else { break }
            out += rest[start..<rest.index(start, offsetBy: size)]
            rest = rest[rest.index(start, offsetBy: size)...].dropFirst(2)
        }
        return out
    }
}

/// A fresh temporary folder, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() {
        path = NSTemporaryDirectory() + "icmm-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A wait that gave up: tests fail with it instead of hanging.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds; throws `WaitTimedOut` naming `what` once `timeout` passed.
/// Every wait in the tests goes through this (or a socket timeout), so a failure cannot hang.
public func waitUntil(_ what: String, timeout: Duration = .seconds(15), _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what) }
        usleep(2_000)
    }
}

extension HTTPTestClient {
    /// Opens a TCP connection to the server from `sourceAddress` (any 127.0.0.0/8 address) and
    /// leaves it open; the caller closes the descriptor.
    public func openConnection(from sourceAddress: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.connect(errno) }
        if let sourceAddress {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(sourceAddress)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(fd)
                throw TestClientError.connect(errno)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestClientError.connect(errno)
        }
        return fd
    }

    /// True when the server closed (or reset) the connection within `timeout`; false when it is
    /// still open then. Reads and drops whatever the server sent. The default deadline is long
    /// because the whole suite on two cores can keep a server's event loop waiting for seconds;
    /// it returns as soon as the server closes.
    public static func isClosedByServer(_ fd: Int32, timeout: Duration = .seconds(30)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready > 0 {
                let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            }
        }
        return false
    }
}

/// A value shared between a test and the handlers or threads it starts (a class, so closures can hold it).
public final class Shared<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is guarded by `lock`.
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ newValue: Value) { lock.withLock { value = newValue } }
    public func update(_ change: (inout Value) -> Void) { lock.withLock { change(&value) } }
}
