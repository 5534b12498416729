import Foundation

/// A parsed JSON document that keeps the distinction between booleans, numbers and strings,
/// so that a validator can report `invalid_type` precisely and reject unknown keys.
///
/// Parsing and printing go through Foundation's `JSONDecoder`/`JSONEncoder`; this type only
/// gives the tree a shape that can be walked.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The name of this value's JSON type, as used in validation messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as an integer, when it is one exactly (2 and 2.0 are, 2.5 is not).
    public var integerValue: Int? {
        guard case .number(let n) = self, n.isFinite, n.rounded() == n, abs(n) < 9.0e15 else { return nil }
        return Int(n)
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// Why a body could not be parsed as JSON. The description never quotes the input.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension JSONValue {
    /// Parses one JSON document (any top-level value).
    /// - Throws: `JSONParseError` with a message that does not repeat the input.
    public static func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        guard !data.isEmpty else { throw JSONParseError(description: "The body is empty; a JSON document was expected.") }
        let result: Result<JSONValue, JSONParseError> = data.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(raw.bindMemory(to: UInt8.self)) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        guard !bytes.isEmpty else { throw JSONParseError(description: "The body is empty; a JSON document was expected.") }
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(buffer) }
        }
        return try result.get()
    }

    /// Parses bytes in place (a record of a larger body), without copying them.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        guard !buffer.isEmpty else { throw JSONParseError(description: "The body is empty; a JSON document was expected.") }
        return try JSONParser.parse(buffer)
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Compact JSON text with sorted keys (stable output, stable ETags).
    public func serialized(pretty: Bool = false) -> Data {
        if pretty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
            // Encoding a JSONValue cannot fail: every case maps to a JSON value (non-finite numbers become null).
            return (try? encoder.encode(self)) ?? Data("null".utf8)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        write(into: &bytes)
        return Data(bytes)
    }

    public func serializedString(pretty: Bool = false) -> String {
        if pretty { return String(decoding: serialized(pretty: true), as: UTF8.self) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes compact JSON (RFC 8259) with object keys in sorted order. Written by hand because it is
    /// on every write path: Foundation's JSONEncoder over this enum cost a quarter of a POST.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .number(let n): JSONValue.writeNumber(n, into: &out)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out.append(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                item.write(into: &out)
            }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            for (i, member) in members.sortedMembers().enumerated() {
                if i > 0 { out.append(0x2C) }
                JSONValue.writeString(member.key, into: &out)
                out.append(0x3A)
                member.value.write(into: &out)
            }
            out.append(0x7D)
        }
    }

    static func writeNumber(_ n: Double, into out: inout [UInt8]) {
        if !n.isFinite {
            out.append(contentsOf: Array("null".utf8))
        } else if n.rounded() == n, abs(n) < 9.0e15 {
            out.append(contentsOf: String(Int64(n)).utf8)
        } else {
            // Swift prints the shortest text that reads back to the same Double (e.g. 0.1, 1e-05): valid JSON.
            out.append(contentsOf: n.description.utf8)
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        // Most strings (keys, codes, dates) need no escaping: copy them whole.
        let copied = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied == true {
            out.append(0x22)
            return
        }
        // Text with quotes (JSON inside a string, say): copy the runs between the bytes to escape whole,
        // finding them eight bytes at a time (a FHIR answer carries each case's classification so).
        let escaped = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var runStart = 0
            var i = 0
            let count = bytes.count
            while i < count {
                if i + 8 <= count, let base = bytes.baseAddress {
                    let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                    let ones: UInt64 = 0x0101_0101_0101_0101
                    let quote = word ^ (ones &* 0x22)
                    let backslash = word ^ (ones &* 0x5C)
                    let flagged =
                        (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word))
                        & 0x8080_8080_8080_8080
                    if flagged == 0 {
                        i += 8
                        continue
                    }
                    // The lowest flagged byte is one to escape (a borrow only flags bytes above it).
                    i += flagged.trailingZeroBitCount >> 3
                }
                let byte = bytes[i]
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                    writeEscaped(byte, into: &out)
                    runStart = i + 1
                }
                i += 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
            return true
        }
        if escaped == true {
            out.append(0x22)
            return
        }
        for byte in s.utf8 {
            if byte < 0x20 || byte == 0x22 || byte == 0x5C { writeEscaped(byte, into: &out) } else { out.append(byte) }
        }
        out.append(0x22)
    }

    /// One byte that JSON requires escaped: a quote, a backslash or a control character.
    private static func writeEscaped(_ byte: UInt8, into out: inout [UInt8]) {
        out.append(0x5C)
        switch byte {
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x0A: out.append(0x6E)
        case 0x0D: out.append(0x72)
        case 0x09: out.append(0x74)
        case 0x08: out.append(0x62)
        case 0x0C: out.append(0x66)
        default:
            let hex: StaticString = "0123456789abcdef"
            out.append(0x75)
            out.append(0x30)
            out.append(0x30)
            out.append(hex.utf8Start[Int(byte >> 4)])
            out.append(hex.utf8Start[Int(byte & 0xF)])
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode(JSONObject.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n):
            if !n.isFinite {
                try container.encodeNil()
            } else if n.rounded() == n, abs(n) < 9.0e15 {
                try container.encode(Int64(n))
            } else {
                try container.encode(n)
            }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var members = JSONObject(minimumCapacity: elements.count)
        for (key, value) in elements { members[key] = value }
        self = .object(members)
    }
}
