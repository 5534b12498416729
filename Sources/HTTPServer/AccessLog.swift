import CMicroHTTPDShims
import Foundation
import Synchronization

/// Where the access log goes and how its lines look. One line per answered request: time, method,
/// route pattern, status, duration and request id. Never a body, a query value or a path value
/// (the route pattern names `{external_id}`, not the id), so no patient value reaches it.
public struct AccessLogConfiguration: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case off
        case standardError
        /// Appended to (created with mode 0640 when missing).
        case file(String)
    }

    public enum Format: String, Sendable, Equatable, CaseIterable {
        /// `2026-11-30T04:55:00.123Z GET /healthz 200 0.042ms abcd-0100000001`
        case text
        /// One JSON object per line (NDJSON).
        case json
    }

    public var destination: Destination = .standardError
    public var format: Format = .text
    /// A thread's buffer is handed to the writer when it holds this many bytes.
    public var flushBytes: Int = 32 * 1024
    /// The writer collects every buffer at least this often: the log is at most this far behind.
    public var flushIntervalMilliseconds: Int = 250
    /// A thread's buffer never grows past this while the writer is behind (a stalled disk): lines
    /// beyond it are dropped and counted rather than blocking an event loop or growing without end.
    public var maxBufferedBytesPerThread: Int = 8 << 20

    public init() {}
}

public enum AccessLogError: Error, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code): "Cannot open the access log \(path): \(String(cString: strerror(code)))."
        }
    }
}

/// One event loop's lines not yet written. The owning thread appends; the writer thread takes the
/// bytes away. Both hold `bytes`' lock only for an append or a swap (no I/O under it), so an event
/// loop never waits on the disk.
final class AccessLogBuffer: Sendable {
    private struct Pending {
        var bytes: [UInt8] = []
        var dropped = 0
    }
    private let leadingPadding = CacheLinePadding()
    private let pending = Mutex<Pending>(Pending())
    private let trailingPadding = CacheLinePadding()

    /// Appends a formatted line; true when the buffer passed the size that asks for a flush.
    func append(_ line: UnsafeBufferPointer<UInt8>, flushBytes: Int, maxBytes: Int) -> Bool {
        pending.withLock { pending in
            if pending.bytes.count + line.count > maxBytes {
                pending.dropped += 1
                return true
            }
            if pending.bytes.capacity == 0 { pending.bytes.reserveCapacity(flushBytes * 2) }
            pending.bytes.append(contentsOf: line)
            return pending.bytes.count >= flushBytes
        }
    }

    /// Takes the bytes written so far (and the count of lines dropped), leaving `spare` in their place.
    func take(swappingIn spare: inout [UInt8]) -> (bytes: [UInt8], dropped: Int) {
        spare.removeAll(keepingCapacity: true)
        return pending.withLock { pending in
            let taken = pending.bytes
            pending.bytes = spare
            spare = []
            let dropped = pending.dropped
            pending.dropped = 0
            return (taken, dropped)
        }
    }
}

/// The access log: per-event-loop buffers, and one writer thread that collects them by size (when
/// an event loop signals a full buffer) and by time, and at `close()`. A crash or SIGKILL loses
/// what the buffers hold: at most `flushIntervalMilliseconds` of lines (or one buffer's worth).
final class AccessLog: @unchecked Sendable {
    // @unchecked: `thread` is written by open()/close(), which the server does not run concurrently.
    let configuration: AccessLogConfiguration
    private let fd: Int32
    private let ownsFD: Bool
    /// One per event loop, registered as the loops are set up.
    private let buffers = Mutex<[AccessLogBuffer]>([])
    private let wake = NSCondition()
    private var wakeRequested = false
    private var closing = false
    private var thread: pthread_t?
    /// Lines dropped because the writer was behind (reported in the log itself).
    private let droppedLines = Atomic<Int>(0)

    /// Opens the destination (nothing for `.off`).
    init(configuration: AccessLogConfiguration) throws(AccessLogError) {
        self.configuration = configuration
        switch configuration.destination {
        case .off, .standardError:
            fd = STDERR_FILENO
            ownsFD = false
        case .file(let path):
            let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard opened >= 0 else { throw .cannotOpen(path: path, errno: errno) }
            fd = opened
            ownsFD = true
        }
    }

    var isEnabled: Bool { configuration.destination != .off }

    /// A buffer for one more event loop.
    func makeBuffer() -> AccessLogBuffer {
        let made = AccessLogBuffer()
        buffers.withLock { $0.append(made) }
        return made
    }

    /// Starts the writer thread.
    func start() {
        guard isEnabled, thread == nil else { return }
        thread = startThread(name: "icmm-access-log") { [self] in writerLoop() }
    }

    /// Asks the writer to collect now (an event loop's buffer is full). Never blocks for long:
    /// the condition's lock is held by the writer only between waits.
    func requestFlush() {
        wake.lock()
        wakeRequested = true
        wake.signal()
        wake.unlock()
    }

    /// Writes everything buffered, stops the writer thread and joins it; closes a file it opened.
    func close() {
        if let thread {
            wake.lock()
            closing = true
            wake.signal()
            wake.unlock()
            pthread_join(thread, nil)
            self.thread = nil
        }
        if ownsFD { _ = Glibc.close(fd) }
    }

    /// Lines dropped so far because the disk was slower than the requests.
    var dropped: Int { droppedLines.load(ordering: .relaxed) }

    private func writerLoop() {
        var spare: [UInt8] = []
        while true {
            wake.lock()
            if !wakeRequested && !closing {
                _ = wake.wait(until: Date(timeIntervalSinceNow: Double(configuration.flushIntervalMilliseconds) / 1000))
            }
            wakeRequested = false
            let last = closing
            wake.unlock()
            collect(&spare)
            if last { return }
        }
    }

    private func collect(_ spare: inout [UInt8]) {
        var dropped = 0
        for buffer in buffers.withLock({ $0 }) {
            let (bytes, lost) = buffer.take(swappingIn: &spare)
            dropped += lost
            writeAll(bytes)
            spare = bytes  // reuse its capacity for the next swap
        }
        if dropped > 0 {
            droppedLines.add(dropped, ordering: .relaxed)
            writeAll(Array("access log: \(dropped) lines dropped (the log destination is slower than the requests)\n".utf8))
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // a full disk or a closed pipe: nothing better to do with a log line
                }
                offset += n
            }
        }
    }
}

/// Formats access-log lines into a buffer of its own, allocated once, with plain stores: no String
/// interpolation, no Foundation, and no array growth or uniqueness checks (each `Array.append`
/// costs a check of both). This runs once per request on an event loop.
struct AccessLogLine: ~Copyable {
    /// Longer lines are cut short (they cannot occur: routes are the server's patterns, methods
    /// are cut at 32 bytes, request ids at 128); the final newline always fits.
    static let capacity = 1024
    /// On cache lines of its own (aligned, and followed by unused bytes): each event loop writes
    /// its line here on every request, and the contexts that hold them are made one after another.
    private let storage = UnsafeMutableRawPointer.allocate(byteCount: AccessLogLine.capacity + 128, alignment: 128)
        .bindMemory(to: UInt8.self, capacity: AccessLogLine.capacity + 128)
    private var count = 0
    /// The formatted date and time to the second, remade when the second changes.
    private var cachedSecond: Int = -1
    private var cachedStamp: [UInt8] = []
    /// What `appendMiddle` last formatted, and for which values.
    private var middle: [UInt8] = []
    private var middleFormat = AccessLogConfiguration.Format.text
    private var middleMethod = ""
    private var middleRoute = ""
    private var middleStatus = -1

    init() {}
    deinit { UnsafeMutableRawPointer(storage).deallocate() }

    /// The last formatted line, newline included; valid until the next `format`.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: storage, count: count) }

    /// `requestIDIsPlain`: the caller vouches that the id has only characters a line can carry as
    /// they are (the server's ids: generated, or a client's that passed `usableRequestID`), so
    /// they are copied without the check of each byte.
    mutating func format(
        _ format: AccessLogConfiguration.Format, method: String, route: String, status: Int, nanoseconds: UInt64, requestID: String,
        requestIDIsPlain: Bool = false
    ) {
        count = 0
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        if now.tv_sec != cachedSecond { restamp(now.tv_sec) }
        let millis = Int(now.tv_nsec / 1_000_000)
        switch format {
        case .text:
            appendTime(millis: millis)
            appendMiddle(format, method: method, route: route, status: status)
            appendMilliseconds(nanoseconds)
            append("ms ")
            appendRequestID(requestID, plain: requestIDIsPlain)
        case .json:
            append(#"{"time":""#)
            appendTime(millis: millis)
            appendMiddle(format, method: method, route: route, status: status)
            appendMilliseconds(nanoseconds)
            append(#","request_id":""#)
            appendRequestID(requestID, plain: requestIDIsPlain)
            append(#""}"#)
        }
        storage[count] = 0x0A  // always room: `put` stops one byte short of the capacity
        count += 1
    }

    /// The part of the line between the time and the duration (method, route, status), as bytes,
    /// for the last (format, method, route, status): a thread serves the same route with the same
    /// status request after request, and copying the bytes costs less than escaping them again.
    private mutating func appendMiddle(_ format: AccessLogConfiguration.Format, method: String, route: String, status: Int) {
        if status == middleStatus && format == middleFormat && route == middleRoute && method == middleMethod {
            middle.withUnsafeBufferPointer { put($0) }
            return
        }
        let start = count
        switch format {
        case .text:
            put(0x20)
            appendToken(method)
            put(0x20)
            appendEscaped(route)
            put(0x20)
            appendInteger(status)
            put(0x20)
        case .json:
            append(#"","method":""#)
            appendToken(method)
            append(#"","route":""#)
            appendEscaped(route)
            append(#"","status":"#)
            appendInteger(status)
            append(#","duration_ms":"#)
        }
        middle = Array(UnsafeBufferPointer(start: storage + start, count: count - start))
        middleFormat = format
        middleMethod = method
        middleRoute = route
        middleStatus = status
    }

    private mutating func restamp(_ seconds: Int) {
        cachedSecond = seconds
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        cachedStamp.removeAll(keepingCapacity: true)
        func two(_ n: Int32) -> [UInt8] { [UInt8(0x30 + n / 10), UInt8(0x30 + n % 10)] }
        let year = Int(parts.tm_year) + 1900
        cachedStamp += Array(String(year).utf8) + [0x2D] + two(parts.tm_mon + 1) + [0x2D] + two(parts.tm_mday) + [0x54]
        cachedStamp += two(parts.tm_hour) + [0x3A] + two(parts.tm_min) + [0x3A] + two(parts.tm_sec) + [0x2E]
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        guard count < AccessLogLine.capacity - 1 else { return }
        storage[count] = byte
        count += 1
    }

    /// Copies as many of `source`'s bytes as fit, in one copy.
    @inline(__always)
    private mutating func put(_ source: UnsafeBufferPointer<UInt8>) {
        let n = min(source.count, AccessLogLine.capacity - 1 - count)
        guard n > 0, let base = source.baseAddress else { return }
        (storage + count).update(from: base, count: n)
        count += n
    }

    private mutating func appendTime(millis: Int) {
        cachedStamp.withUnsafeBufferPointer { put($0) }
        put(UInt8(0x30 + millis / 100))
        put(UInt8(0x30 + (millis / 10) % 10))
        put(UInt8(0x30 + millis % 10))
        put(0x5A)  // "Z"
    }

    private mutating func append(_ text: StaticString) {
        put(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A method is a client's token: anything outside the token characters becomes `?`, so a line
    /// cannot be split or a JSON string closed by what a client sent.
    private mutating func appendToken(_ text: String) {
        appendReplacing(text, limit: 32) { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    /// Route patterns and request ids are the server's own or already restricted to plain
    /// characters; control characters, quotes and backslashes are replaced all the same.
    private mutating func appendEscaped(_ text: String) {
        appendReplacing(text, limit: 256) { byte in !(byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F) }
    }

    @inline(__always)
    private mutating func appendRequestID(_ text: String, plain: Bool) {
        if plain {
            let copied: Void? = text.utf8.withContiguousStorageIfAvailable { put(UnsafeBufferPointer(rebasing: $0.prefix(256))) }
            if copied != nil { return }
        }
        appendEscaped(text)
    }

    /// Copies at most `limit` bytes of `text` in one copy (a native string's own bytes), then
    /// replaces those that are not `allowed` with `?` in place.
    @inline(__always)
    private mutating func appendReplacing(_ text: String, limit: Int, allowed: (UInt8) -> Bool) {
        let start = count
        // Not `withUTF8`: that one is mutating (a copy of the string and a uniqueness check).
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { put(UnsafeBufferPointer(rebasing: $0.prefix(limit))) }
        if copied == nil {
            for byte in text.utf8.prefix(limit) { put(byte) }
        }
        var index = start
        while index < count {
            if !allowed(storage[index]) { storage[index] = 0x3F }
            index += 1
        }
    }

    private mutating func appendInteger(_ value: Int) {
        guard value > 0 else {
            put(0x30)
            return
        }
        var digits = 0
        var n = value
        while n > 0 {
            digits += 1
            n /= 10
        }
        guard count + digits < AccessLogLine.capacity - 1 else { return }
        n = value
        for index in stride(from: count + digits - 1, through: count, by: -1) {
            storage[index] = UInt8(0x30 + n % 10)
            n /= 10
        }
        count += digits
    }

    /// Milliseconds with three decimals (microsecond resolution).
    private mutating func appendMilliseconds(_ nanoseconds: UInt64) {
        let micros = Int(nanoseconds / 1000)
        appendInteger(micros / 1000)
        put(0x2E)
        let fraction = micros % 1000
        put(UInt8(0x30 + fraction / 100))
        put(UInt8(0x30 + (fraction / 10) % 10))
        put(UInt8(0x30 + fraction % 10))
    }
}

/// Starts a joinable POSIX thread running `body` (Foundation's `Thread` cannot be joined).
func startThread(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        let name: String
        init(_ body: @escaping @Sendable () -> Void, name: String) {
            self.body = body
            self.name = name
        }
    }
    let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.name.withCString { icmm_set_thread_name($0) }
        box.body()
        return nil
    }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
