import Dispatch
import Survival

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The compact curve points, encoded in blocks straight into raw memory: a million-point curve is
// most of `icmm analyze`'s output, and appending a dozen small pieces per point to an Array
// (uniqueness and capacity checks each time) cost as much as formatting the numbers. The text is
// the general path's, byte for byte (JSONWriterTests and CurveEncodingTests compare them).

extension JSONWriter {
    /// Points per block: about 0.7 MB of text.
    static let curveBlockPoints = 4096

    /// The points of `curve` as the members of the array just opened, block by block; with
    /// `parallelCurves` two blocks at a time on two threads. Blocks reach the sink (or `bytes`)
    /// in order.
    mutating func writeCurvePoints(_ curve: CurveTable) {
        let n = curve.count
        if n == 0 { return }
        let block = Self.curveBlockPoints
        // With a sink, parallel blocks are written by a third thread while the next two are
        // encoded (writing 170 MB to a file is a tenth of the run); it has finished when this
        // returns, so that later output follows in order.
        let writer = parallelCurves && n > block ? sink.map { OrderedBlockWriter(sink: $0) } : nil
        if writer != nil { flush() }
        var start = 0
        while start < n {
            if parallelCurves, n - start > block {
                let secondStart = start + block
                let secondEnd = min(secondStart + block, n)
                var first: (text: [UInt8], nonFinite: Int) = ([], 0)
                var second: (text: [UInt8], nonFinite: Int) = ([], 0)
                let firstStart = start
                Concurrently.run(
                    { first = CurvePointsEncoder.encode(curve, firstStart..<secondStart) },
                    { second = CurvePointsEncoder.encode(curve, secondStart..<secondEnd) })
                if let writer {
                    writer.send(first.text)
                    writer.send(second.text)
                } else {
                    appendBlock(first.text)
                    appendBlock(second.text)
                }
                nonFiniteCount += first.nonFinite + second.nonFinite
                start = secondEnd
            } else {
                let end = min(start + block, n)
                let (text, nonFinite) = CurvePointsEncoder.encode(curve, start..<end)
                if let writer { writer.send(text) } else { appendBlock(text) }
                nonFiniteCount += nonFinite
                start = end
            }
        }
        writer?.finish()
    }

    /// Hands a finished block to the sink after what is buffered (no copy), or appends it.
    private mutating func appendBlock(_ block: [UInt8]) {
        if let sink {
            flush()
            sink(block)
        } else {
            bytes.append(contentsOf: block)
        }
    }
}

/// Hands blocks to a sink in order on a serial queue, at most `limit` blocks ahead of it (so a
/// slow reader of the output holds back the encoders instead of filling memory).
final class OrderedBlockWriter: @unchecked Sendable {
    // Unchecked: `sink` is only called from `queue`, one block after the other.
    private let sink: (borrowing [UInt8]) -> Void
    private let queue = DispatchQueue(label: "icmm.json.blocks")
    private let slots: DispatchSemaphore

    init(sink: @escaping (borrowing [UInt8]) -> Void, limit: Int = 8) {
        self.sink = sink
        self.slots = DispatchSemaphore(value: limit)
    }

    func send(_ block: [UInt8]) {
        slots.wait()
        queue.async {
            self.sink(block)
            self.slots.signal()
        }
    }

    /// Returns once every block sent has reached the sink.
    func finish() { queue.sync {} }
}

/// Compact JSON of curve points into raw memory, as `JSONWriter.number`/`int` write each value.
enum CurvePointsEncoder {
    /// Upper bound of one point's text: 8 keys and separators (84 bytes), 5 numbers of at most
    /// 24 characters, 3 integers of at most 20 (264), with room to spare; the formatter is given
    /// 32 bytes, which the 64 extra bytes of a block cover for its last number.
    static let maxPointBytes = 320

    /// The points `range` of `curve` (each preceded by "," except the curve's first), and how
    /// many survival or time values were not finite (written as null).
    static func encode(_ curve: CurveTable, _ range: Range<Int>) -> (text: [UInt8], nonFinite: Int) {
        var nonFinite = 0
        let text = [UInt8](unsafeUninitializedCapacity: range.count * maxPointBytes + 64) { buffer, count in
            var out = buffer.baseAddress!
            // The last text of each column that repeats at censoring-only times.
            var lower = Memo(), stdErr = Memo(), survival = Memo(), upper = Memo()
            curve.time.withUnsafeBufferPointer { time in
            curve.nRisk.withUnsafeBufferPointer { nRisk in
            curve.nEvent.withUnsafeBufferPointer { nEvent in
            curve.nCensor.withUnsafeBufferPointer { nCensor in
            curve.survival.withUnsafeBufferPointer { surv in
            curve.stdErr.withUnsafeBufferPointer { se in
            curve.lower.withUnsafeBufferPointer { lo in
            curve.upper.withUnsafeBufferPointer { up in
                for k in range {
                    if k > 0 {
                        put(#",{"lower":"#, &out)
                    } else {
                        put(#"{"lower":"#, &out)
                    }
                    number(lo[k], memo: &lower, &out)
                    put(#","n_censor":"#, &out)
                    integer(Int64(nCensor[k]), &out)
                    put(#","n_event":"#, &out)
                    integer(Int64(nEvent[k]), &out)
                    put(#","n_risk":"#, &out)
                    integer(Int64(nRisk[k]), &out)
                    put(#","std_err":"#, &out)
                    number(se[k], memo: &stdErr, &out)
                    put(#","survival":"#, &out)
                    if !surv[k].isFinite { nonFinite += 1 }
                    number(surv[k], memo: &survival, &out)
                    put(#","time":"#, &out)
                    if !time[k].isFinite { nonFinite += 1 }
                    number(time[k], &out)
                    put(#","upper":"#, &out)
                    number(up[k], memo: &upper, &out)
                    out.pointee = 0x7D
                    out += 1
                }
            }}}}}}}}
            count = out - buffer.baseAddress!
        }
        return (text, nonFinite)
    }

    /// A column's last value and where its text is in the block being written.
    struct Memo {
        var bits: UInt64 = 0
        var text: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
    }

    @inline(__always)
    static func put(_ fragment: StaticString, _ out: inout UnsafeMutablePointer<UInt8>) {
        let count = fragment.utf8CodeUnitCount
        memcpy(out, fragment.utf8Start, count)
        out += count
    }

    /// `number`, copying the text written last time for this column when the bits are equal.
    @inline(__always)
    static func number(_ value: Double, memo: inout Memo, _ out: inout UnsafeMutablePointer<UInt8>) {
        if let text = memo.text, memo.bits == value.bitPattern {
            memcpy(out, text, memo.length)
            out += memo.length
            return
        }
        let start = out
        number(value, &out)
        memo = Memo(bits: value.bitPattern, text: start, length: out - start)
    }

    /// As `JSONWriter.writeNumber`: null when not finite, integral values below 9e15 as
    /// integers, everything else in Swift's shortest round-trip form (`description`).
    @inline(__always)
    static func number(_ value: Double, _ out: inout UnsafeMutablePointer<UInt8>) {
        guard value.isFinite else {
            put("null", &out)
            return
        }
        if value.rounded(.towardZero) == value, abs(value) < 9.0e15 {
            integer(Int64(value), &out)
            return
        }
        // Prefilled with "0" as `JSONWriter.writeShortest` does.
        out.initialize(repeating: 0x30, count: 32)
        out += Int(swiftFloat64ToString(out, 32, value, false))
    }

    @inline(__always)
    static func integer(_ value: Int64, _ out: inout UnsafeMutablePointer<UInt8>) {
        if value >= 0, value < 10 {
            out.pointee = 0x30 &+ UInt8(truncatingIfNeeded: value)
            out += 1
            return
        }
        var magnitude = value.magnitude
        if value < 0 {
            out.pointee = 0x2D
            out += 1
        }
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        var position = out + digits
        out = position
        repeat {
            position -= 1
            position.pointee = 0x30 &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
    }
}
