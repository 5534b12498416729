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
    /// The writer is woken each time a thread has written this many more bytes. Large, because
    /// each wake is a context switch and a `write(2)` on a machine whose cores serve requests: at
    /// 256 KiB the writer costs ~0.04 us of CPU per request, at 32 KiB ~0.1 us.
    public var flushBytes: Int = 256 * 1024
    /// The writer collects every buffer at least this often: the log is at most this far behind.
    public var flushIntervalMilliseconds: Int = 250
    /// The size of each thread's log ring (rounded up to a power of two): its memory, allocated
    /// when the server starts. While the writer is behind (a stalled disk), lines that find no
    /// room are dropped and counted rather than blocking an event loop.
    public var maxBufferedBytesPerThread: Int = 2 << 20

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

/// One event loop's lines not yet written: a ring of bytes that the event loop formats its lines
/// straight into, and that the writer thread empties. Single producer, single consumer, no lock:
/// the event loop publishes how far it wrote with one release store (a plain store on x86-64),
/// the writer publishes how far it wrote out the same way. An append takes no lock, makes no
/// atomic read-modify-write and no copy, and never waits: when the ring is full (the destination
/// is slower than the requests) the line is dropped and counted.
///
/// Only the owning event loop appends, one line at a time (libmicrohttpd runs a connection's
/// callbacks on its thread; when the daemon stops, its threads have ended before another thread
/// completes their requests). Only the writer thread drains.
final class AccessLogBuffer: @unchecked Sendable {
    // @unchecked: the fields marked "event loop" are touched only by the appending thread, those
    // marked "writer" only by the writer thread; the two threads share only the atomics.
    //
    // @exclusivity(unchecked): each access is a short non-reentrant one on its own thread (see
    // `EventLoopContext`), so Swift's run-time exclusivity check (~60 instructions) cannot fire.
    private let leadingPadding = CacheLinePadding()
    /// A power of two; positions below are byte counts since the start (they never wrap).
    let capacity: Int
    private let mask: Int
    /// `capacity` bytes of ring, then room for one whole line: a line that passes the end is
    /// formatted there in one piece and its tail is then copied to the ring's start.
    private let storage: UnsafeMutablePointer<UInt8>
    private let flushBytes: Int
    /// Event loop: how far it wrote, how far it last saw the writer, when it next asks for a flush.
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private var knownConsumed = 0
    @exclusivity(unchecked) private var nextFlushRequest: Int
    @exclusivity(unchecked) private var droppedSoFar = 0
    @exclusivity(unchecked) private var line = AccessLogLine()
    /// Written by the event loop (`head`, lines dropped so far), read by the writer.
    private let published = Atomic<Int>(0)
    private let droppedLines = Atomic<Int>(0)
    /// Written by the writer: how far it wrote out (on a line of its own, read by the event loop
    /// only when the ring looks full).
    private let middlePadding = CacheLinePadding()
    private let consumed = Atomic<Int>(0)
    /// Writer: the dropped count it last reported.
    @exclusivity(unchecked) private var reportedDropped = 0
    private let trailingPadding = CacheLinePadding()

    /// `capacity` is rounded up to a power of two (at least 4 KiB).
    init(capacity requested: Int, flushBytes: Int) {
        var size = 4096
        while size < requested { size <<= 1 }
        capacity = size
        mask = size - 1
        self.flushBytes = max(1, flushBytes)
        nextFlushRequest = self.flushBytes
        storage = UnsafeMutableRawPointer.allocate(byteCount: size + AccessLogLine.capacity, alignment: 128)
            .bindMemory(to: UInt8.self, capacity: size + AccessLogLine.capacity)
    }

    deinit { UnsafeMutableRawPointer(storage).deallocate() }

    /// Event loop: formats one line into the ring. True when the writer should be woken: another
    /// `flushBytes` were written since the last time, or the line was dropped.
    func append(
        _ format: AccessLogConfiguration.Format, method: String, route: String, status: Int, nanoseconds: UInt64, requestID: String,
        requestIDIsPlain: Bool
    ) -> Bool {
        if capacity &- (head &- knownConsumed) < AccessLogLine.capacity {
            knownConsumed = consumed.load(ordering: .acquiring)
            if capacity &- (head &- knownConsumed) < AccessLogLine.capacity {
                droppedSoFar &+= 1
                droppedLines.store(droppedSoFar, ordering: .relaxed)
                return true
            }
        }
        let offset = head & mask
        let count = line.format(
            into: storage + offset, format, method: method, route: route, status: status, nanoseconds: nanoseconds,
            requestID: requestID, requestIDIsPlain: requestIDIsPlain)
        let overhang = offset &+ count &- capacity
        if overhang > 0 { storage.update(from: storage + capacity, count: overhang) }
        head &+= count
        published.store(head, ordering: .releasing)
        // The ring's next lines were last in memory or in the writer's cache: fetched now, while
        // the next request is served, the next line's stores find them in this core's cache
        // (perf samples in the copies into the ring, GET /healthz: 0.12 -> 0.04 us per request).
        icmm_prefetch_for_write(storage + ((head &+ 64) & mask))
        icmm_prefetch_for_write(storage + ((head &+ 128) & mask))
        guard head >= nextFlushRequest else { return false }
        nextFlushRequest = head &+ flushBytes
        return true
    }

    /// Writer: hands the bytes written since the last drain to `write` (in one piece, or two when
    /// they wrap around the ring's end), then frees their room. Answers the lines dropped since
    /// the last drain.
    func drain(_ write: (UnsafeRawBufferPointer) -> Void) -> Int {
        let start = consumed.load(ordering: .relaxed)  // only this thread stores it
        // Never more than one ring's worth, whatever `published` says: a read stays inside `storage`.
        let end = min(published.load(ordering: .acquiring), start + capacity)
        if end > start {
            let from = start & mask
            let first = min(end - start, capacity - from)
            write(UnsafeRawBufferPointer(start: storage + from, count: first))
            if end - start > first { write(UnsafeRawBufferPointer(start: storage, count: end - start - first)) }
            consumed.store(end, ordering: .releasing)
        }
        let dropped = droppedLines.load(ordering: .relaxed)
        defer { reportedDropped = dropped }
        return dropped - reportedDropped
    }
}

/// The access log: per-event-loop rings, and one writer thread that collects them by size (when
/// an event loop has written another `flushBytes`), by time, and at `close()`. A crash or SIGKILL
/// loses what the rings hold: at most `flushIntervalMilliseconds` of lines (or `flushBytes` per thread).
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
        let made = AccessLogBuffer(capacity: configuration.maxBufferedBytesPerThread, flushBytes: configuration.flushBytes)
        buffers.withLock { $0.append(made) }
        return made
    }

    /// Starts the writer thread.
    func start() {
        guard isEnabled, thread == nil else { return }
        thread = startThread(name: "icmm-access-log") { [self] in writerLoop() }
    }

    /// Asks the writer to collect now (an event loop wrote another `flushBytes`, or its ring is
    /// full). Rare (a few times a second at full load), and never blocks for long:
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
        while true {
            wake.lock()
            if !wakeRequested && !closing {
                _ = wake.wait(until: Date(timeIntervalSinceNow: Double(configuration.flushIntervalMilliseconds) / 1000))
            }
            wakeRequested = false
            let last = closing
            wake.unlock()
            collect()
            if last { return }
        }
    }

    private func collect() {
        var dropped = 0
        for buffer in buffers.withLock({ $0 }) {
            dropped += buffer.drain { writeAll($0) }
        }
        if dropped > 0 {
            droppedLines.add(dropped, ordering: .relaxed)
            Array("access log: \(dropped) lines dropped (the log destination is slower than the requests)\n".utf8).withUnsafeBytes {
                writeAll($0)
            }
        }
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) {
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

/// Formats access-log lines with plain stores: no String interpolation, no Foundation, and no
/// array growth or uniqueness checks (each `Array.append` costs a check of both). This runs once
/// per request on an event loop, into the loop's log ring (`format(into:...)`), or into a buffer
/// of its own (`format(...)`, `bytes`).
struct AccessLogLine: ~Copyable {
    /// Longer lines are cut short (they cannot occur: routes are the server's patterns, methods
    /// are cut at 32 bytes, request ids at 256); the final newline always fits.
    static let capacity = 1024
    /// Where the line being formatted goes (set by `format(into:...)` for the length of one line).
    private var target: UnsafeMutablePointer<UInt8>
    private var count = 0
    /// The formatted date and time to the second, remade when the second changes.
    private var cachedSecond: Int = -1
    private var cachedStamp: [UInt8] = []
    /// The start of the last line, up to its duration (time to the millisecond, method, route,
    /// status), and what it was made of: a thread serves the same route with the same status
    /// request after request, many per millisecond, and one copy costs less than formatting again.
    private let prefix = UnsafeMutablePointer<UInt8>.allocate(capacity: AccessLogLine.capacity)
    private var prefixCount = 0
    private var prefixSecond = -1
    private var prefixMillisecond = -1
    /// Where the prefix's three digits of milliseconds are.
    private var prefixMillisOffset = 0
    private var prefixFormat = AccessLogConfiguration.Format.text
    private var prefixMethod = ""
    private var prefixRoute = ""
    private var prefixStatus = -1

    // `target` points at the prefix between lines: never written then, and always valid.
    init() { target = prefix }
    deinit { prefix.deallocate() }

    /// Formats a line at `destination`, which has room for `capacity` bytes; answers its length,
    /// newline included. `requestIDIsPlain`: the caller vouches that the id has only characters a
    /// line can carry as they are (the server's ids: generated, or a client's that passed
    /// `usableRequestID`), so they are copied without the check of each byte.
    mutating func format(
        into destination: UnsafeMutablePointer<UInt8>, _ format: AccessLogConfiguration.Format, method: String, route: String,
        status: Int, nanoseconds: UInt64, requestID: String, requestIDIsPlain: Bool = false
    ) -> Int {
        target = destination
        write(format, method: method, route: route, status: status, nanoseconds: nanoseconds, requestID: requestID, plain: requestIDIsPlain)
        let written = count
        target = prefix
        count = 0
        return written
    }

    @inline(__always)
    private mutating func write(
        _ format: AccessLogConfiguration.Format, method: String, route: String, status: Int, nanoseconds: UInt64, requestID: String,
        plain: Bool
    ) {
        count = 0
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        let millis = Int(now.tv_nsec / 1_000_000)
        if now.tv_sec == prefixSecond && status == prefixStatus && format == prefixFormat && route == prefixRoute
            && method == prefixMethod
        {
            if millis != prefixMillisecond { restampPrefix(millis: millis) }
            put(UnsafeBufferPointer(start: prefix, count: prefixCount))
        } else {
            makePrefix(format, second: now.tv_sec, millis: millis, method: method, route: route, status: status)
        }
        appendMilliseconds(nanoseconds)
        switch format {
        case .text:
            put(0x6D)  // "ms "
            put(0x73)
            put(0x20)
            appendRequestID(requestID, plain: plain)
        case .json:
            append(#","request_id":""#)
            appendRequestID(requestID, plain: plain)
            append(#""}"#)
        }
        target[count] = 0x0A  // always room: `put` stops one byte short of the capacity
        count += 1
    }

    /// The prefix's time moved on within its second: only its milliseconds change.
    private mutating func restampPrefix(millis: Int) {
        // Within the prefix's own bytes: `put` may have cut a prefix short, never before its time.
        guard prefixMillisOffset + 3 <= prefixCount else { return }
        prefix[prefixMillisOffset] = UInt8(truncatingIfNeeded: 0x30 + millis / 100)
        prefix[prefixMillisOffset + 1] = UInt8(truncatingIfNeeded: 0x30 + (millis / 10) % 10)
        prefix[prefixMillisOffset + 2] = UInt8(truncatingIfNeeded: 0x30 + millis % 10)
        prefixMillisecond = millis
    }

    /// Formats the line's start (up to the duration) and keeps a copy for the lines that follow.
    private mutating func makePrefix(
        _ format: AccessLogConfiguration.Format, second: Int, millis: Int, method: String, route: String, status: Int
    ) {
        if second != cachedSecond { restamp(second) }
        switch format {
        case .text:
            appendTime(millis: millis)
            prefixMillisOffset = count - 4
            put(0x20)
            appendToken(method)
            put(0x20)
            appendEscaped(route)
            put(0x20)
            appendInteger(status)
            put(0x20)
        case .json:
            append(#"{"time":""#)
            appendTime(millis: millis)
            prefixMillisOffset = count - 4
            append(#"","method":""#)
            appendToken(method)
            append(#"","route":""#)
            appendEscaped(route)
            append(#"","status":"#)
            appendInteger(status)
            append(#","duration_ms":"#)
        }
        prefix.update(from: target, count: count)
        prefixCount = count
        prefixSecond = second
        prefixMillisecond = millis
        prefixFormat = format
        prefixMethod = method
        prefixRoute = route
        prefixStatus = status
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
        target[count] = byte
        count += 1
    }

    /// Copies as many of `source`'s bytes as fit, in one copy.
    @inline(__always)
    private mutating func put(_ source: UnsafeBufferPointer<UInt8>) {
        let n = min(source.count, AccessLogLine.capacity - 1 - count)
        guard n > 0, let base = source.baseAddress else { return }
        (target + count).update(from: base, count: n)
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
            if !allowed(target[index]) { target[index] = 0x3F }
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
            target[index] = UInt8(0x30 + n % 10)
            n /= 10
        }
        count += digits
    }

    /// Milliseconds with three decimals (microsecond resolution).
    private mutating func appendMilliseconds(_ nanoseconds: UInt64) {
        let micros = Int(nanoseconds / 1000)
        let whole = micros / 1000
        if whole < 10 {
            put(UInt8(truncatingIfNeeded: 0x30 + whole))  // the common case, without the digit count
        } else {
            appendInteger(whole)
        }
        put(0x2E)
        let fraction = micros % 1000
        put(UInt8(0x30 + fraction / 100))
        put(UInt8(0x30 + (fraction / 10) % 10))
        put(UInt8(0x30 + fraction % 10))
    }
}
