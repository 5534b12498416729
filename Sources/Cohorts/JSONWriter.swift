/// A streaming JSON writer for the cohort results and the analysis report: compact (RFC 8259) or
/// indented exactly as Foundation's `JSONEncoder` with `.prettyPrinted` indents, numbers in Swift's
/// shortest round-trip form ("1e-05", integral values without ".0"), non-finite numbers as null.
///
/// Callers write object members in sorted key order, the order `JSONValue` and
/// `JSONEncoder(.sortedKeys)` use, so that the text (and the ETags over it) stay stable; debug
/// builds check the order. With a `sink`, full chunks are handed over as they fill, so a
/// million-point curve never sits in memory twice.
public struct JSONWriter {
    public internal(set) var bytes: [UInt8] = []
    let pretty: Bool
    let chunkSize: Int
    let sink: ((borrowing [UInt8]) -> Void)?
    /// Numbers that should have been finite but were not, written as null (see `finite(_:)`).
    public internal(set) var nonFiniteCount = 0
    /// Compact curves are encoded two blocks at a time on two threads (`icmm analyze`); the
    /// text is the same.
    public var parallelCurves = false
    /// Per open container: whether it already has a member.
    private var hasMember: [Bool] = []
    #if DEBUG
    private var lastKeys: [String?] = []
    #endif

    public init(pretty: Bool = false, capacity: Int = 1024) {
        self.pretty = pretty
        self.chunkSize = .max
        self.sink = nil
        bytes.reserveCapacity(capacity)
    }

    /// A writer that hands every `chunkSize` bytes to `sink`; call `flush()` at the end.
    public init(pretty: Bool = false, chunkSize: Int = 1 << 20, sink: @escaping (borrowing [UInt8]) -> Void) {
        self.pretty = pretty
        self.chunkSize = chunkSize
        self.sink = sink
        bytes.reserveCapacity(chunkSize + 4096)
    }

    /// Hands the bytes written so far to the sink.
    public mutating func flush() {
        guard let sink, !bytes.isEmpty else { return }
        sink(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func flushIfFull() {
        if bytes.count >= chunkSize { flush() }
    }

    // MARK: Containers

    public mutating func beginObject() {
        beforeValue()
        bytes.append(UInt8(ascii: "{"))
        hasMember.append(false)
        #if DEBUG
        lastKeys.append(nil)
        #endif
    }

    public mutating func endObject() { endContainer(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        beforeValue()
        bytes.append(UInt8(ascii: "["))
        hasMember.append(false)
        #if DEBUG
        lastKeys.append(nil)
        #endif
    }

    public mutating func endArray() { endContainer(UInt8(ascii: "]")) }

    private mutating func endContainer(_ byte: UInt8) {
        let empty = !hasMember.removeLast()
        #if DEBUG
        lastKeys.removeLast()
        #endif
        if pretty {
            // Foundation writes an empty container as an empty line between its brackets.
            if empty { bytes.append(0x0A) }
            bytes.append(0x0A)
            indent()
        }
        bytes.append(byte)
        flushIfFull()
    }

    /// The member name of the next value. Keys must come in ascending order.
    public mutating func key(_ name: String) {
        #if DEBUG
        if let last = lastKeys[lastKeys.count - 1] {
            precondition(last < name, "JSONWriter: key '\(name)' written after '\(last)'")
        }
        lastKeys[lastKeys.count - 1] = name
        #endif
        separator()
        writeString(name)
        if pretty {
            bytes.append(contentsOf: [0x20, 0x3A, 0x20])  // " : "
        } else {
            bytes.append(0x3A)
        }
    }

    private var afterKey = false

    @inline(__always)
    private mutating func separator() {
        guard let last = hasMember.last else { return }
        if last { bytes.append(0x2C) }
        hasMember[hasMember.count - 1] = true
        if pretty {
            bytes.append(0x0A)
            indent()
        }
        afterKey = true
    }

    @inline(__always)
    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
        } else {
            separator()
            afterKey = false
        }
    }

    private mutating func indent() {
        for _ in 0..<hasMember.count { bytes.append(0x20); bytes.append(0x20) }
    }

    // MARK: Values

    public mutating func null() {
        beforeValue()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        }
    }

    public mutating func int(_ value: Int) {
        beforeValue()
        writeInteger(Int64(value))
    }

    /// A number, or null when it is nil or not finite.
    public mutating func number(_ value: Double?) {
        beforeValue()
        writeNumber(value)
        flushIfFull()
    }

    var isCompact: Bool { !pretty }

    /// Appends bytes as they are (a fragment of the caller's own compact JSON).
    mutating func appendRaw(_ fragment: [UInt8]) { bytes.append(contentsOf: fragment) }

    /// Appends a fixed fragment (no array to retain and release per use).
    @inline(__always)
    mutating func appendRaw(_ fragment: StaticString) {
        fragment.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func appendByte(_ byte: UInt8) { bytes.append(byte) }

    mutating func appendInteger(_ value: Int) { writeInteger(Int64(value)) }

    /// Marks the innermost container as having members (after `appendRaw` wrote some).
    mutating func markMember() { hasMember[hasMember.count - 1] = true }

    mutating func writeNumber(_ value: Double?) {
        guard let value, value.isFinite else {
            bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            return
        }
        if value.rounded(.towardZero) == value, abs(value) < 9.0e15 {
            writeInteger(Int64(value))
        } else {
            // Swift's shortest round-trip text (0.1, 1e-05), written straight into the buffer.
            writeShortest(value)
        }
    }

    /// A number that should be finite (a statistic, not a "not estimable" marker): null when it is
    /// not, and counted in `nonFiniteCount` so that the caller can say why.
    mutating func finiteMiss() { nonFiniteCount += 1 }

    public mutating func finite(_ value: Double) {
        if !value.isFinite { nonFiniteCount += 1 }
        number(value)
    }

    public mutating func string(_ value: String) {
        beforeValue()
        writeString(value)
    }

    /// Text written as it is: a value the caller has already encoded (one JSON value, compact).
    public mutating func raw(_ json: some Sequence<UInt8>) {
        beforeValue()
        bytes.append(contentsOf: json)
        flushIfFull()
    }

    // MARK: Members (key, then value)

    public mutating func member(_ name: String, _ value: Double?) {
        key(name)
        number(value)
    }

    public mutating func member(_ name: String, finite value: Double) {
        key(name)
        finite(value)
    }

    public mutating func member(_ name: String, _ value: Int) {
        key(name)
        int(value)
    }

    public mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    public mutating func member(_ name: String, string value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    public mutating func nullMember(_ name: String) {
        key(name)
        null()
    }

    /// `"name": [...]`, each element written by `element` (e.g. `{ $0.write($1) }`).
    public mutating func member<Elements: Sequence>(
        _ name: String, array elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void
    ) {
        key(name)
        beginArray()
        for value in elements { element(&self, value) }
        endArray()
    }

    // MARK: Scalars

    /// `value.description` without the String: the runtime function `description` itself calls
    /// (swift_float64ToString, exported by libswiftCore), into a stack buffer. A million-point
    /// curve has five million such numbers; the String per number was most of the encoding time.
    /// JSONWriterTests check the text against `description` and Foundation's encoder.
    private mutating func writeShortest(_ value: Double) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            // Filled with "0": called this way the formatter left the leading zeros of "0.00ddd"
            // unwritten (JSONWriterTests compare 40,000 random values with `description`).
            buffer.initialize(repeating: 0x30)
            let count = Int(swiftFloat64ToString(buffer.baseAddress!, 32, value, false))
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    private mutating func writeInteger(_ value: Int64) {
        if value == 0 {
            bytes.append(0x30)
            return
        }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(0x2D) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[19 - count] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
                count += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(20 - count)...]))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ s: String) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte == 0x22 || byte == 0x5C || byte < 0x20 else { continue }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                switch byte {
                case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
                case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
                case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
                case 0x08: bytes.append(contentsOf: [0x5C, 0x62])
                case 0x0C: bytes.append(contentsOf: [0x5C, 0x66])
                default:
                    bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(0x22)
    }
}

@_silgen_name("swift_float64ToString")
func swiftFloat64ToString(_ buffer: UnsafeMutablePointer<UInt8>, _ length: UInt, _ value: Double, _ debug: Bool) -> UInt64
