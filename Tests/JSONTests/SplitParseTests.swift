import Foundation
import Testing

@testable import JSON

/// `JSONValue.parse(_:splittingArrayMember:)` (a Bundle's entries parsed on two threads) against the
/// usual parse: the same value bit for bit, or the same error at the same byte.
@Suite struct SplitParseTests {
    typealias D = ParserDifferentialTests

    static func split(_ bytes: [UInt8]) -> D.Outcome {
        do {
            return .value(try JSONValue.parse(bytes, splittingArrayMember: "entry", minimumBytes: 0))
        } catch {
            return .error(error.description)
        }
    }

    static func agree(_ bytes: [UInt8]) -> Bool {
        switch (split(bytes), D.fast(bytes)) {
        case (.value(let a), .value(let b)): return D.identical(a, b)
        case (.error(let a), .error(let b)): return a == b
        default: return false
        }
    }

    /// The two-thread path itself (nil: it would fall back to the usual parse).
    static func splitPath(_ text: String) -> JSONValue? {
        Array(text.utf8).withUnsafeBufferPointer { SplitParse(bytes: $0, member: Array("entry".utf8)).parse() }
    }

    /// A Bundle-like object: some members, an `entry` array of generated values, more members.
    static func bundle(_ g: inout D.Generator, entries: Int) -> String {
        var members: [String] = []
        for i in 0..<g.below(4) { members.append("\"m\(i)\"\(g.pick(["", " "])):\(g.pick(["", "\n "]))\(D.document(&g, depth: 2))") }
        let items = (0..<entries).map { _ in D.document(&g, depth: 2) }
        members.insert("\"entry\":" + g.pick(["", " "]) + "[" + items.joined(separator: g.pick([",", " ,\n"])) + "]", at: g.below(members.count + 1))
        for i in 0..<g.below(3) { members.append("\"n\(i)\":\(D.document(&g, depth: 2))") }
        return g.pick(["", " ", "\n"]) + "{" + members.joined(separator: g.pick([",", ", "])) + "}" + g.pick(["", "\n", " \r\n"])
    }

    @Test func generatedBundlesAndTheirMutationsGiveTheSameValueOrTheSameError() {
        var g = D.Generator(seed: 1414)
        var disagreements: [String] = []
        var splitValues = 0
        var failed = 0
        for round in 0..<4_000 {
            let text = Self.bundle(&g, entries: 2 + g.below(12))
            var bytes = Array(text.utf8)
            if round % 2 == 1 { D.mutate(&bytes, &g) }
            if case .error = D.fast(bytes) {
                failed += 1
            } else if round % 2 == 0 {
                #expect(Self.splitPath(text) != nil)
                splitValues += 1
            }
            if !Self.agree(bytes), disagreements.count < 5 { disagreements.append(String(decoding: bytes.prefix(300), as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        // The two-thread path ran on (nearly) every unmutated document, and errors were exercised.
        #expect(splitValues > 200, "split \(splitValues)")
        #expect(failed > 1_000, "failed \(failed)")
    }

    /// A Bundle whose `entry` comes last and whose entries begin with the same member name, as
    /// `guessedSplit` expects; with `nested`, every entry also holds objects beginning with that
    /// name (`},{"fullUrl":` inside an entry), so the guess from the middle is often wrong.
    static func entryLastBundle(_ g: inout D.Generator, entries: Int, nested: Bool) -> String {
        let space = g.pick(["", " ", "\n  "])
        let items = (0..<entries).map { i -> String in
            var inner = D.document(&g, depth: 2)
            if nested { inner = "[{\"fullUrl\":1},{\"fullUrl\":2}," + inner + "]" }
            return "{" + space + "\"fullUrl\":" + space + "\"u\(i)\"," + space + "\"resource\":" + inner + "}"
        }
        return "{\"resourceType\":\"Bundle\"," + space + "\"entry\":[" + items.joined(separator: "," + space) + "]" + space + "}"
            + g.pick(["", "\n"])
    }

    /// The guessed split (no scan of the entries) gives the usual value or error; when the guess
    /// is wrong (nested objects with the entries' first name), the document is read again.
    @Test func guessedSplitsGiveTheSameValueOrTheSameError() {
        var g = D.Generator(seed: 2718)
        var disagreements: [String] = []
        var guessed = 0
        var splitValues = 0
        for round in 0..<3_000 {
            let text = Self.entryLastBundle(&g, entries: 2 + g.below(12), nested: round % 3 == 0)
            var bytes = Array(text.utf8)
            if round % 2 == 1 { D.mutate(&bytes, &g) }
            if round % 2 == 0, case .value = D.fast(bytes) {
                #expect(Self.splitPath(text) != nil)
                splitValues += 1
                let scan = bytes.withUnsafeBufferPointer { SplitParse(bytes: $0, member: Array("entry".utf8)).scan(guessing: true) }
                if scan?.guessed == true { guessed += 1 }
            }
            if !Self.agree(bytes), disagreements.count < 5 { disagreements.append(String(decoding: bytes.prefix(300), as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(splitValues > 300, "split \(splitValues)")
        // Most valid documents are guessed (not those whose middle falls in the last entry).
        #expect(guessed > splitValues * 3 / 4, "guessed \(guessed) of \(splitValues)")
    }

    /// Mutations at the places the split relies on: the comma between the halves, the brackets, the
    /// quotes of member names, the top-level braces.
    @Test func brokenStructureIsTheUsualError() {
        let cases = [
            #"{"entry":[1,]}"#, #"{"entry":[,1]}"#, #"{"entry":[1,2,]}"#, #"{"entry":[,1,2]}"#, #"{"entry":[1,,2]}"#, #"{"entry":[1 2,3]}"#, #"{"entry":[1,2,3}"#,
            #"{"entry":[1,2,3]"#, #"{"entry":[1,2,3]]}"#, #"{"entry":[1,2,3]} x"#, #"{"entry":[1,2,3],}"#, #"{"entry" [1,2,3]}"#,
            #"{"entry":[1,2,3] "a":1}"#, #"{"a":1,"entry":[1,2,3],"a":2}"#, #"{"entry":[1,2],"entry":[3,4]}"#,
            #"{"entr\u0079":[1,2],"entry":[3,4]}"#, #"{"entry":[{"a":[1,2},3]}"#, #"{"entry":["a,b","c\"],d"]}"#,
            #"{"entry":[1,2,3],"b":tru}"#, #"{"entry":[1,2,3],"b":1.}"#, #"["entry",1,2]"#, #"{"entry":[1,"\#u{1}",3]}"#,
            #"{"e\u00e9":1,"entry":[1,2]}"#, "{\"entry\":[1,2,\"\u{FF}\"]}", #"{"entry":[1,2,3]"#, #"{"entry":{"a":1,"b":2}}"#,
        ]
        for text in cases {
            #expect(Self.agree(Array(text.utf8)), "\(text)")
        }
        // Two of them are fine JSON, read the same way (one of them without splitting).
        #expect(Self.splitPath(#"{"entry":["a,b","c\"],d"]}"#) != nil)
        #expect(Self.splitPath(#"{"entry":{"a":1,"b":2}}"#) == nil)
    }

    /// Nesting is limited the same way: an entry nested to the limit parses, one level more is refused.
    @Test func theNestingLimitIsTheWholeDocument() {
        func nested(_ levels: Int) -> String { String(repeating: "[", count: levels) + String(repeating: "]", count: levels) }
        // The object is level 1 and the array level 2: entries may nest 126 more levels.
        for levels in [125, 126, 127, 128] {
            let text = "{\"entry\":[1," + nested(levels) + "]}"
            #expect(Self.agree(Array(text.utf8)), "\(levels)")
            if case .error = D.fast(Array(text.utf8)) { #expect(levels > 126) } else { #expect(levels <= 126) }
        }
    }

    /// A large Bundle-sized document through the public entry point at its default threshold.
    @Test func aLargeDocumentIsSplitAndReadTheSame() throws {
        var g = D.Generator(seed: 99)
        // Entries without objects of random names (those may repeat a name, making the whole invalid).
        let items = (0..<6_000).map { i in
            #"{"fullUrl":"urn:uuid:\#(i)","resource":{"resourceType":"Observation","value":\#(g.pick(D.numbers.filter { !$0.contains("309") })),"#
                + #""note":"\#(g.pick(D.strings.filter { $0 != "\u{0}" }))","list":[\#(g.pick(D.numbers.filter { !$0.contains("309") })),true,null]}}"#
        }
        let text = #"{"resourceType":"Bundle","type":"transaction","entry":["# + items.joined(separator: ",\n") + "]}"
        #expect(text.utf8.count > 256 * 1024)
        #expect(Self.splitPath(text) != nil)
        let value = try JSONValue.parse(Array(text.utf8), splittingArrayMember: "entry")
        #expect(D.identical(value, try JSONValue.parse(Array(text.utf8))))
    }
}
