import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

enum ChromiumSessionError: Error, CustomStringConvertible {
    case startup(String)
    case protocolError(String)
    case timeout(String)

    var description: String {
        switch self {
        case .startup(let text): "chromium did not start: \(text)"
        case .protocolError(let text): "DevTools protocol: \(text)"
        case .timeout(let text): "timed out: \(text)"
        }
    }
}

/// Headless Chromium driven over the DevTools protocol (a WebSocket on loopback), so that a test can
/// press keys, read the page's state and take screenshots. Every wait has a deadline; the browser is
/// stopped when the session is closed or released.
final class ChromiumSession {
    private let process = Process()
    private let profile = TemporaryDirectory()
    private var socketDescriptor: Int32 = -1
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var sessionID = ""
    /// Requests the page made that failed at the network level (DevTools `Network.loadingFailed`).
    private(set) var failedRequests: [String] = []

    init(width: Int = 1280, height: Int = 1000) throws {
        let executable = try #require(
            chromiumExecutable, "chromium is not installed: the dashboard tests need it (sudo apt-get install -y chromium)")
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
            "--user-data-dir=" + profile.file("chromium"), "--window-size=\(width),\(height)",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank",
        ]
        let errorPath = profile.file("stderr.txt")
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        // Chromium writes its port and the browser's WebSocket path once it listens.
        let portFile = profile.file("chromium/DevToolsActivePort")
        let deadline = Date().addingTimeInterval(60)
        var lines: [Substring] = []
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8) {
                lines = text.split(separator: "\n")
                if lines.count >= 2 { break }
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        guard lines.count >= 2, let port = UInt16(lines[0]) else {
            close()
            throw ChromiumSessionError.startup((try? String(contentsOfFile: errorPath, encoding: .utf8))?.suffix(1000).description ?? "")
        }
        do {
            try connect(port: port, path: String(lines[1]))
            let target = try command("Target.createTarget", ["url": "about:blank"], session: false)
            guard let targetID = target["targetId"] as? String else { throw ChromiumSessionError.protocolError("no target id") }
            let attached = try command("Target.attachToTarget", ["targetId": targetID, "flatten": true], session: false)
            guard let session = attached["sessionId"] as? String else { throw ChromiumSessionError.protocolError("no session id") }
            sessionID = session
            _ = try command("Page.enable")
            _ = try command("Runtime.enable")
            _ = try command("Network.enable")
            _ = try command("Emulation.setDeviceMetricsOverride", [
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
            ])
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        if socketDescriptor >= 0 {
            Glibc.close(socketDescriptor)
            socketDescriptor = -1
        }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        profile.remove()
    }

    // MARK: - Page

    /// A script run in every new document before the page's own (DevTools bypasses the page's CSP).
    func addScriptOnNewDocument(_ source: String) throws {
        _ = try command("Page.addScriptToEvaluateOnNewDocument", ["source": source])
    }

    /// Opens a URL and waits for its document to have loaded.
    func open(_ url: String) throws {
        _ = try command("Page.navigate", ["url": url])
        try waitUntil("document.readyState === 'complete'", what: "the page at \(url) to load")
    }

    /// The value of a JavaScript expression (promises awaited), as JSON-compatible Foundation values.
    @discardableResult
    func evaluate(_ expression: String) throws -> Any? {
        let result = try command("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let text = ((exception["exception"] as? [String: Any])?["description"] as? String) ?? "\(exception)"
            throw ChromiumSessionError.protocolError("evaluation of \(expression.prefix(80)) threw: \(text)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    func string(_ expression: String) throws -> String? { try evaluate(expression) as? String }

    /// Polls an expression until it is truthy; throws after `timeout` seconds.
    func waitUntil(_ expression: String, what: String, timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let value = try evaluate("Boolean(\(expression))") as? Bool, value { return }
            if Date() >= deadline { throw ChromiumSessionError.timeout("waiting for \(what) (\(expression))") }
            usleep(100_000)
        }
    }

    /// One key press through the browser's input pipeline, as a user's keyboard would send it.
    func press(_ key: String, shift: Bool = false) throws {
        let codes: [String: (code: String, keyCode: Int, text: String?)] = [
            "Tab": ("Tab", 9, nil), "Enter": ("Enter", 13, "\r"), " ": ("Space", 32, " "),
            "ArrowDown": ("ArrowDown", 40, nil), "ArrowUp": ("ArrowUp", 38, nil), "Escape": ("Escape", 27, nil),
        ]
        guard let entry = codes[key] else { throw ChromiumSessionError.protocolError("no key code for \(key)") }
        var down: [String: Any] = [
            "type": entry.text == nil ? "rawKeyDown" : "keyDown", "key": key, "code": entry.code,
            "windowsVirtualKeyCode": entry.keyCode, "nativeVirtualKeyCode": entry.keyCode, "modifiers": shift ? 8 : 0,
        ]
        if let text = entry.text { down["text"] = text }
        _ = try command("Input.dispatchKeyEvent", down)
        var up = down
        up["type"] = "keyUp"
        up.removeValue(forKey: "text")
        _ = try command("Input.dispatchKeyEvent", up)
    }

    /// Types text into the focused element, one character at a time.
    func type(_ text: String) throws {
        for character in text {
            _ = try command("Input.dispatchKeyEvent", ["type": "keyDown", "key": String(character), "text": String(character)])
            _ = try command("Input.dispatchKeyEvent", ["type": "keyUp", "key": String(character)])
        }
    }

    /// A PNG of the whole page (not only the window) at `path`.
    func screenshot(_ path: String) throws {
        let result = try command("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw ChromiumSessionError.protocolError("no screenshot data")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Protocol

    /// Sends one command and waits for its answer (events in between are skipped).
    func command(_ method: String, _ parameters: [String: Any] = [:], session: Bool = true, timeout: TimeInterval = 30) throws
        -> [String: Any]
    {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if session { message["sessionId"] = sessionID }
        try sendText(try JSONSerialization.data(withJSONObject: message))
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let frame = try receiveText(deadline: deadline)
            guard let object = try JSONSerialization.jsonObject(with: Data(frame)) as? [String: Any] else { continue }
            if object["method"] as? String == "Network.loadingFailed", let event = object["params"] as? [String: Any] {
                failedRequests.append("\(event["errorText"] ?? "?") canceled=\(event["canceled"] ?? "?")")
            }
            guard object["id"] as? Int == id else { continue }
            if let error = object["error"] as? [String: Any] {
                throw ChromiumSessionError.protocolError("\(method): \(error["message"] ?? error)")
            }
            return object["result"] as? [String: Any] ?? [:]
        }
        throw ChromiumSessionError.timeout("answer to \(method)")
    }

    private func connect(port: UInt16, path: String) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw ChromiumSessionError.startup("socket: \(errno)") }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ChromiumSessionError.startup("connect: \(errno)") }
        let handshake =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try write(Array(handshake.utf8))
        let deadline = Date().addingTimeInterval(30)
        while buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
            try fill(deadline: deadline)
        }
        let end = buffer.firstRange(of: Array("\r\n\r\n".utf8))!
        let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
        buffer.removeSubrange(..<end.upperBound)
        guard head.hasPrefix("HTTP/1.1 101") else { throw ChromiumSessionError.startup("WebSocket handshake: \(head)") }
    }

    private func write(_ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.send(socketDescriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ChromiumSessionError.protocolError("send failed: \(errno)") }
            written += n
        }
    }

    private func fill(deadline: Date) throws {
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let n = recv(socketDescriptor, &chunk, chunk.count, 0)
            if n > 0 {
                buffer += chunk[0..<n]
                return
            }
            if n == 0 { throw ChromiumSessionError.protocolError("the browser closed the connection") }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw ChromiumSessionError.protocolError("recv failed: \(errno)")
            }
            if Date() >= deadline { throw ChromiumSessionError.timeout("data from the browser") }
        }
    }

    /// A client frame: FIN, text, masked (RFC 6455 section 5.3).
    private func sendText(_ payload: Data) throws {
        var frame: [UInt8] = [0x81]
        let count = payload.count
        if count < 126 {
            frame.append(0x80 | UInt8(count))
        } else if count < 65536 {
            frame += [0x80 | 126, UInt8(count >> 8), UInt8(count & 0xff)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((count >> shift) & 0xff)) }
        }
        let mask: [UInt8] = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index % 4]) }
        try write(frame)
    }

    /// The next whole text message from the browser (server frames are not masked).
    private func receiveText(deadline: Date) throws -> [UInt8] {
        var message: [UInt8] = []
        while true {
            while buffer.count < 2 { try fill(deadline: deadline) }
            let fin = buffer[0] & 0x80 != 0
            let opcode = buffer[0] & 0x0f
            var length = Int(buffer[1] & 0x7f)
            var headerLength = 2
            if length == 126 {
                while buffer.count < 4 { try fill(deadline: deadline) }
                length = Int(buffer[2]) << 8 | Int(buffer[3])
                headerLength = 4
            } else if length == 127 {
                while buffer.count < 10 { try fill(deadline: deadline) }
                length = buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
                headerLength = 10
            }
            while buffer.count < headerLength + length { try fill(deadline: deadline) }
            let payload = Array(buffer[headerLength..<headerLength + length])
            buffer.removeSubrange(0..<headerLength + length)
            switch opcode {
            case 0x8: throw ChromiumSessionError.protocolError("the browser closed the WebSocket")
            case 0x9, 0xA: continue  // ping / pong: Chromium does not send them to clients
            default: message += payload
            }
            if fin { return message }
        }
    }
}
