import Foundation
import Testing

@testable import JSON
import TestSupport

/// The fast parser against the reference (the parser before it was made faster): the same value, bit
/// for bit, or the same error at the same byte, for generated documents and for their mutations.
@Suite struct ParserDifferentialTests {
    /// A value or the error's description.
    enum Outcome {
        case value(JSONValue)
        case error(String)
    }

    static func fast(_ bytes: [UInt8]) -> Outcome {
        do {
            return .value(try JSONValue.parse(bytes))
        } catch {
            return .error(error.description)
        }
    }

    static func reference(_ bytes: [UInt8]) -> Outcome {
        if bytes.isEmpty { return .error("The body is empty; a JSON document was expected.") }
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in try ReferenceJSONParser.parse(buffer) }
        }
        switch result {
        case .success(let value): return .value(value)
        case .failure(let error): return .error(error.description)
        }
    }

    /// Equal as stored: numbers by bit pattern, strings and names by their UTF-8 bytes (String's `==`
    /// would call canonically equivalent texts equal).
    static func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x.bitPattern == y.bitPattern
        case (.string(let x), .string(let y)): return Array(x.utf8) == Array(y.utf8)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let position = y.position(of: key), Array(y[position].key.utf8) == Array(key.utf8),
                    identical(value, y[position].value)
                else { return false }
            }
            return true
        default: return false
        }
    }

    static func agree(_ bytes: [UInt8]) -> Bool {
        switch (fast(bytes), reference(bytes)) {
        case (.value(let a), .value(let b)): return identical(a, b)
        case (.error(let a), .error(let b)): return a == b
        default: return false
        }
    }

    /// SplitMix64: the same documents on every run.
    typealias Generator = SplitMix64

    static let names = [
        "a", "b", "resourceType", "valueQuantity", "a_member_name_longer_than_fifteen_bytes", "\u{E9}", "e\u{301}", "\u{1F9E0}",
        "", "x\\\"y", "\\u0041",
    ]
    static let strings = [
        "", "final", "http://unitsofmeasure.org", "caf\u{E9}", "\u{1F9E0} brain", "line\\nbreak", "tab\\t", "\\u00e9\\ud83e\\udde0",
        "\\/slash", "a string that is longer than the small-string limit", "\u{0}", "\\u0000", "\u{7F}",
    ]
    static let numbers = [
        "0", "-0", "1", "-1", "0.5", "3.5", "35", "0.1", "0.3", "2.675", "1e22", "1e23", "-1e-22", "1e-23", "9007199254740993",
        "123456789012345", "1234567890123456", "12345678901234567890", "0.000001", "4.9e-324", "5e-324", "2.2250738585072014e-308",
        "1.7976931348623157e308", "1e309", "-1e309", "1E+3", "1e-0005", "1e00001", "0e999", "123.456e-7", "0.0", "-0.0",
        "99999999999999999999999999.5e-10", "1.5e300", "3.0000000000000004", "100e-2", "1e-400",
    ]

    static func document(_ g: inout Generator, depth: Int) -> String {
        let choice = depth > 4 ? 2 + g.below(4) : g.below(6)
        switch choice {
        case 0:
            let count = g.pick([0, 1, 2, 3, 5, 8, 16, 17, 18, 30])
            let members = (0..<count).map { i in
                let name = g.below(4) == 0 ? g.pick(names) : "k\(i)"
                return "\"\(name)\"\(g.pick(["", " "])):\(g.pick(["", " ", "\n"]))\(document(&g, depth: depth + 1))"
            }
            return "{" + members.joined(separator: g.pick([",", ", ", ",\n"])) + "}"
        case 1:
            let count = g.pick([0, 1, 2, 3, 7, 20])
            return "[" + (0..<count).map { _ in document(&g, depth: depth + 1) }.joined(separator: g.pick([",", " , "])) + "]"
        case 2: return "\"\(g.pick(strings))\""
        case 3: return g.pick(numbers)
        case 4: return g.pick(["true", "false", "null"])
        default:
            // A number of random shape.
            var text = g.below(3) == 0 ? "-" : ""
            text += g.below(5) == 0 ? "0" : String(1 + g.below(9)) + String((0..<g.below(20)).map { _ in Character(String(g.below(10))) })
            if g.below(2) == 0 { text += "." + String((0..<(1 + g.below(18))).map { _ in Character(String(g.below(10))) }) }
            if g.below(3) == 0 { text += g.pick(["e", "E"]) + g.pick(["", "+", "-"]) + String(g.below(g.pick([10, 30, 400]))) }
            return text
        }
    }

    static let interestingBytes: [UInt8] = [
        0x22, 0x5C, 0x2C, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x20, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
        0xF5, 0xFF, 0x00, 0x1F, 0x30, 0x31, 0x2E, 0x65, 0x2D, 0x2B, 0x75, 0x41, 0x9F, 0xA0, 0x8F, 0x90,
    ]

    static func mutate(_ bytes: inout [UInt8], _ g: inout Generator) {
        for _ in 0..<(1 + g.below(3)) where !bytes.isEmpty {
            let at = g.below(bytes.count)
            switch g.below(4) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(g.pick(interestingBytes), at: at)
            case 2: bytes[at] = g.pick(interestingBytes)
            default: bytes.removeSubrange(at...)
            }
        }
    }

    @Test func generatedDocumentsAndTheirMutationsGiveTheSameValueOrTheSameError() {
        var g = Generator(seed: 14)
        var disagreements: [String] = []
        var parsed = 0
        var failed = 0
        for _ in 0..<6_000 {
            var bytes = Array(Self.document(&g, depth: 0).utf8)
            if g.below(2) == 0 { Self.mutate(&bytes, &g) }
            if case .value = Self.fast(bytes) { parsed += 1 } else { failed += 1 }
            if !Self.agree(bytes), disagreements.count < 5 { disagreements.append(String(decoding: bytes.prefix(300), as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        // Both kinds were exercised.
        #expect(parsed > 2_000 && failed > 1_000, "parsed \(parsed), failed \(failed)")
    }

    /// Large documents take other paths (short strings reused from a table): arrays of generated
    /// documents past that size, whole and mutated.
    @Test func largeDocumentsGiveTheSameValueOrTheSameError() {
        var g = Generator(seed: 2026)
        var disagreements = 0
        for round in 0..<24 {
            var parts: [String] = []
            var size = 0
            while size < 40_000 {
                let part = Self.document(&g, depth: 1)
                size += part.utf8.count
                parts.append(part)
            }
            var bytes = Array(("[" + parts.joined(separator: ",") + "]").utf8)
            #expect(bytes.count >= 32 * 1024)
            if round % 2 == 1 { Self.mutate(&bytes, &g) }
            if !Self.agree(bytes) { disagreements += 1 }
        }
        #expect(disagreements == 0)
    }

    /// Many distinct short strings share the slots of the table of recent strings: each must still
    /// read as itself.
    @Test func manyDistinctShortStringsInALargeDocument() {
        var g = Generator(seed: 5)
        var strings: [String] = []
        for i in 0..<30_000 {
            let length = 1 + g.below(16)
            var bytes: [UInt8] = []
            for _ in 0..<length { bytes.append(UInt8(0x61 + (i + g.below(26)) % 26)) }
            strings.append(String(decoding: bytes, as: UTF8.self))
        }
        var parts: [String] = []
        for (i, name) in strings.enumerated() {
            let value: String = strings[(i * 7) % strings.count]
            parts.append("{\"" + name + "\":\"" + value + "\"}")
        }
        let text = "[" + parts.joined(separator: ",") + "]"
        #expect(Self.agree(Array(text.utf8)))
        guard case .value(let value) = Self.fast(Array(text.utf8)) else {
            Issue.record("not parsed")
            return
        }
        let expected: JSONValue = .object([strings[12_345]: .string(strings[(12_345 * 7) % strings.count])])
        #expect(value.arrayValue?[12_345] == expected)
    }

    /// Long strings (17 to 96 bytes and past) in a large document share the slots of the table of
    /// recent long strings: repeated ones, ones of equal length differing in one byte (first, middle,
    /// last), and ones that collide in a slot must each still read as itself, as the reference has it.
    @Test func repeatedAndNearlyEqualLongStringsInALargeDocument() {
        var g = Generator(seed: 9)
        var strings: [String] = []
        for i in 0..<6_000 {
            let length = 17 + g.below(100)
            var bytes: [UInt8] = []
            for _ in 0..<length { bytes.append(UInt8(0x61 + g.below(26))) }
            strings.append(String(decoding: bytes, as: UTF8.self))
            // The same length with one byte changed, at the start, the middle or the end.
            let position = [0, length / 2, length - 1][i % 3]
            bytes[position] = bytes[position] == 0x7A ? 0x61 : bytes[position] + 1
            strings.append(String(decoding: bytes, as: UTF8.self))
        }
        var parts: [String] = []
        for i in 0..<40_000 {
            let name = strings[g.below(strings.count)]
            let value = strings[i % 50 == 0 ? g.below(strings.count) : g.below(64)]
            parts.append("{\"" + name + "\":\"" + value + "\",\"n\":\"" + strings[i % strings.count] + "\"}")
        }
        let text = "[" + parts.joined(separator: ",") + "]"
        #expect(Self.agree(Array(text.utf8)))
        guard case .value(let value) = Self.fast(Array(text.utf8)) else {
            Issue.record("not parsed")
            return
        }
        #expect(value.arrayValue?[39_999]["n"]?.stringValue == strings[39_999 % strings.count])
    }

    @Test(arguments: numbers + ["-", "01", "1.", ".5", "1e", "1e+", "--1", "1.e5", "-01", "0x10", "1.5e308", "2e308"])
    func numbersAreTheSameDoubleBitForBit(text: String) {
        #expect(Self.agree(Array(text.utf8)))
        #expect(Self.agree(Array("[\(text)]".utf8)))
        if let expected = Double(text), expected.isFinite, case .value(let value) = Self.fast(Array(text.utf8)) {
            #expect(value.numberValue?.bitPattern == expected.bitPattern)
        }
    }

    @Test func randomDecimalsAreCorrectlyRounded() {
        var g = Generator(seed: 7)
        for _ in 0..<20_000 {
            let digits = String((0..<(1 + g.below(17))).map { _ in Character(String(g.below(10))) })
            let whole = digits.first == "0" ? "0" : digits
            let text = "\(g.below(2) == 0 ? "-" : "")\(whole).\(g.below(1_000_000))e\(g.below(50) - 25)"
            guard case .value(let value) = Self.fast(Array(text.utf8)) else {
                Issue.record("not parsed")
                return
            }
            #expect(value.numberValue?.bitPattern == Double(text)?.bitPattern, "\(text)")
        }
    }

    /// Every byte sequence a UTF-8 check can stumble on: all of one and two bytes, three- and four-byte
    /// sequences over every lead and second byte, and truncations, against `String(validating:as:)`.
    @Test func utf8CheckAcceptsExactlyWhatTheStandardLibraryAccepts() {
        var sequences: [[UInt8]] = []
        for a in 0...255 { sequences.append([UInt8(a)]) }
        for a in 0x80...0xFF { for b in 0...255 { sequences.append([UInt8(a), UInt8(b)]) } }
        for a in 0xE0...0xEF { for b in 0...255 { for c: UInt8 in [0x7F, 0x80, 0xBF, 0xC0] { sequences.append([UInt8(a), UInt8(b), c]) } } }
        for a in 0xF0...0xFF {
            for b in 0...255 {
                for (c, d): (UInt8, UInt8) in [(0x80, 0x80), (0xBF, 0xBF), (0x80, 0x7F), (0x7F, 0x80)] {
                    sequences.append([UInt8(a), UInt8(b), c, d])
                    sequences.append([0x41, UInt8(a), UInt8(b), c, d, 0x41])
                }
            }
        }
        var mismatches = 0
        for sequence in sequences {
            let ours = sequence.withUnsafeBufferPointer { JSONParser.isValidUTF8($0) }
            if ours != (String(validating: sequence, as: UTF8.self) != nil) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func stringsWithEscapesAndNonASCIIReadAsBefore() {
        let texts = [
            #""caf\u00e9 \ud83e\udde0 é 🧠 \"q\" \\ \/ \b\f\n\r\t""#, "\"\u{E9}\"", "\"e\u{301}\"", #""\u0000""#, #""\uD83E\uDDE0""#,
            "\"\u{10FFFF}\"",
        ]
        for text in texts { #expect(Self.agree(Array(text.utf8)), "\(text)") }
        // Raw invalid bytes beside escapes, and surrogates written raw.
        for bytes: [UInt8] in [
            [0x22, 0x5C, 0x6E, 0xC3, 0x22], [0x22, 0xC3, 0x5C, 0x75, 0x30, 0x30, 0x41, 0x39, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0x5C, 0x22],
        ] {
            #expect(Self.agree(bytes))
        }
    }

    /// Names are the same name when canonically equivalent (as the dictionary has always compared
    /// them), for small objects (compared one by one) and large ones (hashed).
    @Test func duplicateNamesAreFoundInSmallAndLargeObjects() {
        for count in [1, 2, 15, 16, 17, 40] {
            let members = (0..<count).map { "\"m\($0)\":\($0)" }
            for duplicate in ["\"m0\":0", "\"m\(count - 1)\":1"] {
                let text = "{" + (members + [duplicate]).joined(separator: ",") + "}"
                #expect(Self.agree(Array(text.utf8)))
                guard case .error(let message) = Self.fast(Array(text.utf8)) else {
                    Issue.record("a duplicate name was accepted")
                    continue
                }
                #expect(message.contains("appears twice"))
            }
            let text = "{" + members.joined(separator: ",") + "}"
            guard case .value(let value) = Self.fast(Array(text.utf8)) else {
                Issue.record("not parsed")
                continue
            }
            #expect(value.objectValue?.count == count && value["m\(count - 1)"] == .number(Double(count - 1)))
        }
        let equivalent = "{\"\u{E9}\":1,\"e\u{301}\":2}"
        #expect(Self.agree(Array(equivalent.utf8)))
        if case .value = Self.fast(Array(equivalent.utf8)) { Issue.record("canonically equivalent names were both accepted") }
    }
}

/// Lookups and the parser's duplicate check compare short ASCII names by their stored words and
/// any other by `==`: for every pair of names (short and long, ASCII or not, canonically equivalent
/// spellings such as K and the Kelvin sign, e with an accent precomposed or combining), a lookup
/// finds a member exactly when `==` says the names are equal, and a document naming both is refused
/// exactly then, as the reference parser refuses it.
@Suite struct NameComparisonTests {
    static let names = [
        "", "a", "code", "coding", "resourceType", "abcdefghijklmno", "abcdefghijklmnop", "valueCodeableConcept", "K", "\u{212A}",
        "\u{C5}", "\u{212B}", "A\u{30A}", "\u{E9}", "e\u{301}", "caf\u{E9}", "cafe\u{301}", "a longer name with \u{E9} in it",
        "a longer name with e\u{301} in it", "codf", "cod",
    ]

    @Test func aLookupFindsAMemberExactlyWhenTheNamesAreEqual() throws {
        for stored in Self.names {
            for (index, wanted) in Self.names.enumerated() {
                let built: JSONObject = [stored: .number(1), "zz\(index)": .number(2)]
                let parsed = try JSONValue.parse(Array("{\"zz\(index)\":2,\"\(stored)\":1}".utf8)).objectValue ?? [:]
                for object in [built, parsed] {
                    #expect((object[wanted] == .number(1)) == (stored == wanted), "\(stored.debugDescription) \(wanted.debugDescription)")
                }
            }
        }
    }

    @Test func aDocumentNamingTwoEqualNamesIsRefused() {
        for first in Self.names {
            for second in Self.names {
                let bytes = Array("{\"\(first)\":1,\"\(second)\":2}".utf8)
                #expect(ParserDifferentialTests.agree(bytes))
                if case .error = ParserDifferentialTests.fast(bytes) {
                    #expect(first == second, "\(first.debugDescription) \(second.debugDescription)")
                } else {
                    #expect(first != second, "\(first.debugDescription) \(second.debugDescription)")
                }
            }
        }
    }
}

@Suite struct StringSerializerTests {
    /// The escaping a string must get, written the plain way, byte by byte.
    static func expected(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test func stringsWithCharactersToEscapeAreWrittenRunByRun() throws {
        let pieces = [
            "a", "\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "🧠", "{\"k\":[1,\"v\"]}", "/", "\t\r\u{08}\u{0C}", "plain text", "\u{7F} ~",
            "0123456789abcdefghij",
        ]
        var g = ParserDifferentialTests.Generator(seed: 99)
        for round in 0..<3_000 {
            // Long ones too: the runs between escapes are found eight bytes at a time.
            let text = (0..<g.below(round % 3 == 0 ? 60 : 12)).map { _ in g.pick(pieces) }.joined()
            #expect(JSONValue.string(text).serializedString() == Self.expected(text), "\(text)")
            #expect(try JSONValue.parse(JSONValue.string(text).serializedString()) == .string(text))
        }
    }
}

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
