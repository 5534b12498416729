import Foundation
import Testing

@testable import JSON
import TestSupport

/// The parser's table of small objects and arrays already read in a large document (`RecentSpans`):
/// documents that repeat such texts, with near copies of them, nested at other depths, up to the
/// nesting limit, whole and mutated, against the reference parser (the same value bit for bit, or
/// the same error at the same byte).
@Suite struct RecentSpansTests {
    typealias D = ParserDifferentialTests

    /// Valid generated objects and arrays of 8 to 256 bytes (the lengths the table takes).
    static func pool(_ g: inout D.Generator, count: Int) -> [String] {
        var texts: [String] = []
        while texts.count < count {
            let text = D.document(&g, depth: 2)
            guard let first = text.utf8.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
                (8...256).contains(text.utf8.count), case .value = D.fast(Array(text.utf8))
            else { continue }
            texts.append(text)
        }
        return texts
    }

    /// `text` with one letter or digit inside a string changed, at its start, middle or end, or one
    /// more or one fewer there: still valid, and often of the same length, beginning and end.
    static func nearCopy(_ text: String, _ g: inout D.Generator) -> String {
        var bytes = Array(text.utf8)
        var positions: [Int] = []
        var inString = false
        var escaped = 0
        for (position, byte) in bytes.enumerated() {
            if escaped > 0 {
                // The rest of an escape (`\n`, `\u00e9`) stays as it is.
                escaped = byte == 0x75 && escaped == 1 ? 4 : escaped - 1
                continue
            }
            if byte == 0x5C {
                escaped = 1
            } else if byte == 0x22 {
                inString.toggle()
            } else if inString, (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) {
                positions.append(position)
            }
        }
        guard !positions.isEmpty else { return text }
        let position = [positions[0], positions[positions.count / 2], positions[positions.count - 1]][g.below(3)]
        switch g.below(4) {
        case 0: bytes.insert(bytes[position], at: position)
        case 1: bytes.remove(at: position)
        default: bytes[position] = bytes[position] == 0x7A ? 0x61 : (bytes[position] == 0x39 ? 0x30 : bytes[position] + 1)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Texts that share their first 16 bytes and their last 8 and differ in between (as a Bundle's
    /// codings of one code system do), some of the same length.
    static func family(_ g: inout D.Generator, count: Int) -> [String] {
        (0..<count).map { _ in
            let code = "\(g.below(3))\(g.below(10))-\(g.below(3))"
            let number = "\(1 + g.below(3))\(g.below(10))"
            switch g.below(3) {
            case 0: return #"{"coding":[{"system":"http://loinc.org","code":""# + code + #""}],"text":"the same tail"}"#
            case 1: return #"["a first item of some length", "# + number + #", "the same last item"]"#
            default: return #"{"coding":[{"system":"http://loinc.org","code":""# + code + #"", "v": ["# + number + #"]}],"text":"the same tail"}"#
            }
        }
    }

    @Test func repeatedSmallTextsAndNearCopiesGiveTheSameValueOrTheSameError() {
        var g = D.Generator(seed: 1_440)
        var disagreements: [Int] = []
        var parsed = 0
        for round in 0..<48 {
            let pool = Self.pool(&g, count: 40) + Self.family(&g, count: 24)
            let nearCopies = pool.map { Self.nearCopy($0, &g) }
            var parts: [String] = []
            var size = 0
            while size < 40_000 {
                let part: String
                switch g.below(8) {
                case 0:
                    // Anything (valid), once.
                    let text = D.document(&g, depth: 1)
                    guard case .value = D.fast(Array(text.utf8)) else { continue }
                    part = text
                case 1: part = g.pick(nearCopies)
                // The same text one or two levels deeper, and inside a larger text.
                case 2: part = "{\"wrapped\":" + g.pick(pool) + "}"
                case 3: part = "[[" + g.pick(pool) + "]," + g.pick(pool) + "]"
                default: part = g.pick(pool)
                }
                size += part.utf8.count
                parts.append(part)
            }
            var bytes = Array(("[" + parts.joined(separator: g.pick([",", ", ", ",\n"])) + "]").utf8)
            #expect(bytes.count >= 32 * 1024)
            if round % 2 == 1 { D.mutate(&bytes, &g) }
            if case .value = D.fast(bytes) { parsed += 1 }
            if !D.agree(bytes) { disagreements.append(round) }
        }
        #expect(disagreements.isEmpty, "rounds \(disagreements)")
        // Most unmutated documents are valid (a near copy can repeat a member name): the table was
        // used throughout them.
        #expect(parsed >= 16, "\(parsed) documents parsed")
    }

    /// A text read near the top of the document is not taken from the table where it would nest
    /// past the limit: there the document is refused at the byte the usual reading refuses it.
    @Test(arguments: [120, 124, 125, 126])
    func aRepeatedTextKeepsTheNestingLimit(wrappers: Int) {
        // Nesting 3: the object, its array, the object inside.
        let text = #"{"a":[{"b":"a string long enough"}],"c":1}"#
        let filler = Array(repeating: text, count: 1_000).joined(separator: ",")
        // The outer array is at depth 1, the wrappers at 2...wrappers + 1, the text's innermost
        // object at wrappers + 4: within the limit (128) up to 124 wrappers.
        let deep = String(repeating: "[", count: wrappers) + text + String(repeating: "]", count: wrappers)
        let bytes = Array(("[" + filler + "," + deep + "," + text + "]").utf8)
        #expect(D.agree(bytes))
        let outcome = D.fast(bytes)
        if wrappers + 4 <= JSONParser.maximumDepth {
            guard case .value = outcome else {
                Issue.record("refused within the nesting limit")
                return
            }
        } else {
            guard case .error(let message) = outcome else {
                Issue.record("accepted past the nesting limit")
                return
            }
            #expect(message.contains("nesting deeper"))
        }
    }

    /// The places of a repeated text share one value (the table worked), and a change to one place
    /// leaves the others as they were (values are values).
    @Test func aRepeatedObjectIsSharedYetEachPlaceChangesAlone() throws {
        let item = #"{"coding":[{"system":"http://loinc.org","code":"1751-7"}]}"#
        let text = "[" + Array(repeating: item, count: 1_000).joined(separator: ",") + "]"
        guard case .array(var items) = try JSONValue.parse(text), items.count == 1_000,
            case .object(let first) = items[0], case .object(let last) = items[999]
        else {
            Issue.record("not parsed as 1,000 objects")
            return
        }
        #expect(unsafeBitCast(first.members, to: UInt.self) == unsafeBitCast(last.members, to: UInt.self))
        let expected = try JSONValue.parse(item)
        guard case .object(var changed) = items[5] else { return }
        changed["coding"] = .array([])
        changed["text"] = "changed"
        items[5] = .object(changed)
        #expect(items[5] == ["coding": [], "text": "changed"])
        #expect(items[4] == expected && items[6] == expected && items[999] == expected)
        #expect(items[4]["coding"]?.arrayValue?.first?["code"] == "1751-7")
    }
}
