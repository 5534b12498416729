/// Decimal numbers read straight from CSV bytes, with the same result as `Double(String)`.
///
/// `Double(String)` calls the C library's `strtod`, which rounds correctly. The fast path here
/// takes the plain decimal form (`[+-]digits[.digits][e[+-]digits]`) when its significand has at
/// most 19 digits, is at most 2^53 and the power of ten is at most 22: both are then exact
/// doubles and one multiplication or division, correctly rounded by IEEE 754, gives the same
/// double (Clinger 1990). Anything else goes through `Double(String)` itself.
enum CSVNumber {
    /// The double the bytes spell, or nil where `Double(String)` gives nil.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        if let value = fastPath(bytes) { return value }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The exactly computable cases, or nil to leave the text to `strtod`.
    @inline(__always)
    static func fastPath(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = bytes.count
        var i = 0
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var significand: UInt64 = 0
        var digits = 0  // significant digits in `significand` (leading zeros not counted)
        var anyDigit = false
        var scale = 0  // digits after the point
        /// Reads a run of digits into `significand`; false when it would need a 20th significant
        /// digit (no longer exact). Digits after the point also count in `scale`.
        @inline(__always) func readDigits(afterPoint: Bool) -> Bool {
            while i < n {
                let d = bytes[i] &- UInt8(ascii: "0")
                if d > 9 { break }
                anyDigit = true
                if significand != 0 || d != 0 {
                    if digits == 19 { return false }
                    significand = significand &* 10 &+ UInt64(d)
                    digits += 1
                }
                if afterPoint { scale += 1 }
                i += 1
            }
            return true
        }
        guard readDigits(afterPoint: false) else { return nil }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard readDigits(afterPoint: true) else { return nil }
        }
        guard anyDigit else { return nil }
        var exponent = 0
        if i < n, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let first = i
            while i < n {
                let d = bytes[i] &- UInt8(ascii: "0")
                if d > 9 { break }
                if i - first >= 4 { return nil }  // leave huge exponents to strtod
                exponent = exponent * 10 + Int(d)
                i += 1
            }
            if i == first { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard i == n, significand <= 1 << 53 else { return nil }
        let power = exponent - scale
        var value = Double(significand)  // exact: at most 2^53
        if power < 0 {
            guard power >= -22 else { return nil }
            value /= powersOfTen[-power]
        } else if power > 0 {
            guard power <= 22 else { return nil }
            value *= powersOfTen[power]
        }
        return negative ? -value : value
    }
}
