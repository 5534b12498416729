/// A strict RFC 8259 parser into `JSONValue`.
///
/// Written by hand for three reasons: it is on every write path (Foundation's decoder into this enum
/// cost a tenth of a POST), nesting is bounded (a body of 100,000 `[` must be a 400, not a stack
/// overflow), and ambiguous input is refused (duplicate object keys, invalid UTF-8, lone surrogates).
///
/// Large bodies (a FHIR Bundle is megabytes) made its costs visible, so: members and items are
/// collected on two stacks shared by every level and each object or array is allocated once at its
/// final size (no regrowth, no rehashing); ASCII strings skip UTF-8 validation; most numbers are read
/// without making a String (the result is the same correctly rounded Double).
struct JSONParser: ~Copyable {
    static let maximumDepth = 128
    /// Up to this many members, a duplicate name is found by comparing with the earlier names of the
    /// object; past it, by a dictionary (a comparison is cheaper than hashing for a few names).
    static let linearMemberLimit = 16

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// The members of the objects being read, innermost last.
    private var memberStack = MoveStack<JSONObject.Member>()
    /// The items of the arrays being read, innermost last.
    private var itemStack = MoveStack<JSONValue>()
    /// Short ASCII strings already made, by their bytes: member names and codes repeat throughout a
    /// document, and reusing one costs less than making it again. Only for large documents (a small
    /// one would spend more on the table than it saves).
    private var recentStrings: [RecentString] = []
    private static let recentStringSlots = 1024
    private static let recentStringsFromBytes = 32 * 1024

    /// Up to 16 bytes of ASCII, as two words and a length (which determine them), and the String.
    private struct RecentString {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var count = -1
        var string = ""
    }

    /// Longer ASCII strings already made (a FHIR Bundle repeats its code system URLs and each
    /// Patient's reference in every resource), by a hash of their bytes. Same rule as above.
    private var recentLongStrings: [RecentLongString] = []
    private static let recentLongStringSlots = 512
    private static let recentLongStringMaximum = 96

    private struct RecentLongString {
        var hash: UInt64 = 0
        var string = ""
    }

    /// Small objects and arrays already read, by their text (see `RecentSpans`). Only for large
    /// documents, as the strings above.
    private var recentSpans: RecentSpans?

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        if bytes.count >= JSONParser.recentStringsFromBytes {
            recentSpans = RecentSpans()
            recentStrings = [RecentString](repeating: RecentString(), count: JSONParser.recentStringSlots)
            recentLongStrings = [RecentLongString](repeating: RecentLongString(), count: JSONParser.recentLongStringSlots)
        }
    }

    /// `depth`: how deep the document's value sits in a larger one (a slice parsed on its own by
    /// `JSONValue.parse(_:splittingArrayMember:)` keeps the nesting limit of the whole).
    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, depth: Int = 0) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: depth)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private func error(_ what: String) -> JSONParseError {
        JSONParseError(description: "The body is not valid JSON: \(what) at byte \(index).")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end") }
        for i in 0..<count where bytes[index + i] != literal.utf8Start[i] { throw error("unknown literal") }
        index += count
        return value
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end") }
        switch bytes[index] {
        case 0x7B: return recentSpans == nil ? try parseObject(depth: depth + 1) : try parseRecurring(depth: depth + 1)
        case 0x5B: return recentSpans == nil ? try parseArray(depth: depth + 1) : try parseRecurring(depth: depth + 1)
        case 0x22: return .string(try parseString())
        case 0x74: return try expect("true", .bool(true))
        case 0x66: return try expect("false", .bool(false))
        case 0x6E: return try expect("null", .null)
        case 0x2D, 0x30...0x39: return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    /// The object or array at `index`, from `recentSpans` when the same text was read before.
    private mutating func parseRecurring(depth: Int) throws(JSONParseError) -> JSONValue {
        let start = index
        switch recentSpans!.lookUp(bytes, at: start, depth: depth) {
        case .found(let value, let end):
            index = end
            return value
        case .absent(let place):
            let value = bytes[start] == 0x7B ? try parseObject(depth: depth) : try parseArray(depth: depth)
            if index == place.end { recentSpans!.keep(value, at: place, start: start) }
            return value
        case .unsuitable:
            return bytes[start] == 0x7B ? try parseObject(depth: depth) : try parseArray(depth: depth)
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONParser.maximumDepth else { throw error("nesting deeper than \(JSONParser.maximumDepth)") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x7D {
            index += 1
            return .object(JSONObject())
        }
        let base = memberStack.count
        // Past `linearMemberLimit` members, the names are also indexed here (then kept by the object).
        var positions = [String: Int]()
        var isLarge = false
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == 0x22 else { throw error("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == 0x3A else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if isLarge {
                guard positions.updateValue(memberStack.count - base, forKey: key) == nil else {
                    throw error("a member name appears twice")
                }
            } else {
                // String equality, as the index's: canonically equivalent names are the same name
                // (two short ASCII names by their words, see `JSONObject.words(of:)`).
                var earlier = base
                if JSONObject.isSmallASCII(key) {
                    let words = JSONObject.words(of: key)
                    while earlier < memberStack.count {
                        let same = memberStack.withElement(at: earlier) {
                            JSONObject.isSmallASCII($0.key) ? JSONObject.words(of: $0.key) == words : $0.key == key
                        }
                        if same { throw error("a member name appears twice") }
                        earlier += 1
                    }
                }
                while earlier < memberStack.count {
                    if memberStack.withElement(at: earlier, { $0.key == key }) { throw error("a member name appears twice") }
                    earlier += 1
                }
                if memberStack.count - base == JSONParser.linearMemberLimit {
                    positions.reserveCapacity(4 * JSONParser.linearMemberLimit)
                    for earlier in base..<memberStack.count { positions[memberStack.withElement(at: earlier, { $0.key })] = earlier - base }
                    positions[key] = memberStack.count - base
                    isLarge = true
                }
            }
            memberStack.push(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end") }
            if bytes[index] == 0x2C {
                index += 1
            } else if bytes[index] == 0x7D {
                index += 1
                return .object(JSONObject(uniqueMembers: memberStack.pop(from: base), positions: isLarge ? positions : nil))
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONParser.maximumDepth else { throw error("nesting deeper than \(JSONParser.maximumDepth)") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x5D {
            index += 1
            return .array([])
        }
        let base = itemStack.count
        while true {
            skipWhitespace()
            let item = try parseValue(depth: depth)
            itemStack.push(item)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end") }
            if bytes[index] == 0x2C {
                index += 1
            } else if bytes[index] == 0x5D {
                index += 1
                return .array(itemStack.pop(from: base))
            } else {
                throw error("expected ',' or ']'")
            }
        }
    }

    /// Powers of ten that a Double holds exactly (10^22 is the largest).
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
        1e21, 1e22,
    ]

    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        let negative = bytes[index] == 0x2D
        if negative { index += 1 }
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        // The digits as an integer (while at most 15 of them: below 2^53, exact) and the power of ten.
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        guard isDigit(index) else { throw error("invalid number") }
        if bytes[index] == 0x30 {
            index += 1
            if isDigit(index) { throw error("invalid number (leading zero)") }
        } else {
            while isDigit(index) {
                mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- 0x30)
                digits += 1
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            guard isDigit(index) else { throw error("invalid number") }
            while isDigit(index) {
                mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- 0x30)
                digits += 1
                exponent -= 1
                index += 1
            }
        }
        var exponentDigits = 0
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D {
                exponentNegative = bytes[index] == 0x2D
                index += 1
            }
            guard isDigit(index) else { throw error("invalid number") }
            var written = 0
            while isDigit(index) {
                if exponentDigits < 4 { written = written * 10 + Int(bytes[index] - 0x30) }
                exponentDigits += 1
                index += 1
            }
            exponent += exponentNegative ? -written : written
        }
        // Clinger's fast path: an exact integer times or divided by an exact power of ten is one
        // correctly rounded operation, the same Double as the decimal conversion below gives.
        if digits <= 15, exponentDigits <= 4, exponent >= -22, exponent <= 22 {
            let value =
                exponent < 0
                ? Double(mantissa) / JSONParser.exactPowersOfTen[-exponent] : Double(mantissa) * JSONParser.exactPowersOfTen[exponent]
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number out of range") }
        return value
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes; only a string with a byte past ASCII needs its UTF-8 checked.
        var union: UInt8 = 0
        // Eight bytes at a time while none of them is a quote, a backslash or a control character.
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            while index + 8 <= bytes.count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let quote = word ^ (ones &* 0x22)
                let backslash = word ^ (ones &* 0x5C)
                // A byte is zero (or below 0x20) exactly when this leaves its high bit set.
                let special = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)) & highBits
                if special != 0 {
                    // The lowest flagged byte is a true one (a borrow only flags bytes above it): the
                    // bytes before it are ordinary, so step over them; the loop below reads that byte.
                    let ordinary = special.trailingZeroBitCount >> 3
                    let before = ordinary == 0 ? 0 : word & (UInt64.max >> (64 - 8 * ordinary))
                    if before & highBits != 0 { union = 0x80 }
                    index += ordinary
                    break
                }
                if word & highBits != 0 { union = 0x80 }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if union < 0x80, !recentStrings.isEmpty {
                    if slice.count <= 16 { return recentString(slice) }
                    if slice.count <= JSONParser.recentLongStringMaximum { return recentLongString(slice) }
                }
                guard union < 0x80 || JSONParser.isValidUTF8(slice) else { throw error("invalid UTF-8") }
                return String(decoding: slice, as: UTF8.self)
            }
            if byte == 0x5C { break }
            if byte < 0x20 { throw error("control character in a string") }
            union |= byte
            index += 1
        }
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                index += 1
                let valid = out.withUnsafeBufferPointer { JSONParser.isValidUTF8($0) }
                guard valid else { throw error("invalid UTF-8") }
                return String(decoding: out, as: UTF8.self)
            }
            if byte < 0x20 { throw error("control character in a string") }
            if byte != 0x5C {
                out.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                        throw error("lone surrogate")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("lone surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid escape") }
                UTF8.encode(unicode) { out.append($0) }
            default:
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    /// The String of up to 16 ASCII bytes, from `recentStrings` when it holds them.
    private mutating func recentString(_ slice: UnsafeBufferPointer<UInt8>) -> String {
        var low: UInt64 = 0
        var high: UInt64 = 0
        let start = slice.baseAddress! - bytes.baseAddress!
        if start + 16 <= bytes.count {
            // Two loads, then the bytes past the string masked off.
            let raw = UnsafeRawPointer(slice.baseAddress!)
            low = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            if slice.count < 8 {
                low &= (1 << (8 * UInt64(slice.count))) &- 1
                high = 0
            } else if slice.count < 16 {
                high &= (1 << (8 * UInt64(slice.count - 8))) &- 1
            }
        } else {
            for (i, byte) in slice.enumerated() {
                if i < 8 { low |= UInt64(byte) << (8 * UInt64(i)) } else { high |= UInt64(byte) << (8 * UInt64(i - 8)) }
            }
        }
        let hash = (low &* 0x9E37_79B9_7F4A_7C15) ^ (high &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(slice.count)
        let slot = JSONParser.slot(hash, of: JSONParser.recentStringSlots)
        if recentStrings[slot].count == slice.count, recentStrings[slot].low == low, recentStrings[slot].high == high {
            return recentStrings[slot].string
        }
        let string = String(decoding: slice, as: UTF8.self)
        recentStrings[slot] = RecentString(low: low, high: high, count: slice.count, string: string)
        return string
    }

    /// The String of 17 to `recentLongStringMaximum` ASCII bytes, from `recentLongStrings` when it
    /// holds them (the bytes compared, not only the hash).
    private mutating func recentLongString(_ slice: UnsafeBufferPointer<UInt8>) -> String {
        let raw = UnsafeRawPointer(slice.baseAddress!)
        let count = slice.count
        var hash = UInt64(count)
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) &* 0x9E37_79B9_7F4A_7C15
            offset += 8
        }
        if offset < count {
            // The last eight bytes, overlapping the word before (count > 16).
            hash = (hash ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))) &* 0xC2B2_AE3D_27D4_EB4F
        }
        let slot = JSONParser.slot(hash, of: JSONParser.recentLongStringSlots)
        if recentLongStrings[slot].hash == hash {
            let cached = recentLongStrings[slot].string
            let same = cached.utf8.withContiguousStorageIfAvailable { stored in
                stored.count == count && JSONParser.sameBytes(raw, UnsafeRawPointer(stored.baseAddress!), count: count)
            }
            if same == true { return cached }
        }
        let string = String(decoding: slice, as: UTF8.self)
        recentLongStrings[slot] = RecentLongString(hash: hash, string: string)
        return string
    }

    /// The slot of a table of `slots` (a power of two) for a hash made by multiplying: its top bits,
    /// which depend on every bit multiplied (the low bits depend only on the low bits of each word,
    /// so strings differing only in their last bytes, as `urn:uuid:...0001` and `...0002` do, shared
    /// one slot and kept evicting each other).
    @inline(__always)
    private static func slot(_ hash: UInt64, of slots: Int) -> Int {
        Int(truncatingIfNeeded: hash >> UInt64(64 - slots.trailingZeroBitCount))
    }

    /// Whether `count` (at least 8) bytes at `a` and `b` are the same, a word at a time.
    static func sameBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        var offset = 0
        while offset + 8 <= count {
            if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self) {
                return false
            }
            offset += 8
        }
        return offset == count
            || a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    /// Well-formed UTF-8 as Unicode defines it (Table 3-7): no overlong forms, no surrogates, nothing
    /// past U+10FFFF, no truncated sequence. The same bytes `String(validating:as:)` accepts.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let count = bytes.count
        func continuation(_ j: Int) -> Bool { bytes[j] & 0xC0 == 0x80 }
        while i < count {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
            } else if lead < 0xC2 {
                return false
            } else if lead < 0xE0 {
                guard i + 1 < count, continuation(i + 1) else { return false }
                i += 2
            } else if lead < 0xF0 {
                guard i + 2 < count else { return false }
                let second = bytes[i + 1]
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
                guard second >= low, second <= high, continuation(i + 2) else { return false }
                i += 3
            } else if lead < 0xF5 {
                guard i + 3 < count else { return false }
                let second = bytes[i + 1]
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
                guard second >= low, second <= high, continuation(i + 2), continuation(i + 3) else { return false }
                i += 4
            } else {
                return false
            }
        }
        return true
    }
}
