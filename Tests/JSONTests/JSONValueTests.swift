import Foundation
import Testing

@testable import JSON

@Suite struct JSONValueTests {
    @Test func keepsBooleansNumbersAndStringsApart() throws {
        let value = try JSONValue.parse(#"{"a": true, "b": 1, "c": "1", "d": null, "e": [1.5]}"#)
        #expect(value["a"] == .bool(true))
        #expect(value["b"] == .number(1))
        #expect(value["c"] == .string("1"))
        #expect(value["d"] == .null)
        #expect(value["e"] == .array([.number(1.5)]))
        #expect(value["b"]?.integerValue == 1)
        #expect(value["e"]?.arrayValue?.first?.integerValue == nil)
    }

    @Test func malformedJSONIsAnErrorThatDoesNotQuoteTheInput() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"name": "secret-patient""#) }
        do {
            _ = try JSONValue.parse(#"{"name": "secret-patient""#)
        } catch {
            #expect(!error.description.contains("secret"))
        }
        #expect(throws: JSONParseError.self) { try JSONValue.parse("") }
    }

    @Test func serializesWithSortedKeysAndIntegersWithoutFraction() {
        let value: JSONValue = ["b": 2, "a": [1.5, "x/y", nil, true]]
        #expect(value.serializedString() == #"{"a":[1.5,"x/y",null,true],"b":2}"#)
    }

    @Test func jsonPointerEscapesTildeAndSlash() {
        #expect(JSONPointer.root.description == "")
        #expect(JSONPointer(["a/b", "m~n"]).appending(0).description == "/a~1b/m~0n/0")
    }
}

@Suite struct SerializerTests {
    /// The hand-written serializer must produce text that Foundation reads back to the same value.
    @Test func roundTripsThroughFoundation() throws {
        let value: JSONValue = [
            "text": "quote \" backslash \\ newline \n tab \t control \u{01} unicode é ✓ 🧠 slash /",
            "numbers": [0, -1, 1.5, 0.1, 1e-7, 123456789012, -2.5e300, 4.9e-324],
            "nested": ["z": nil, "a": [true, false, [:], []]],
        ]
        let text = value.serializedString()
        #expect(try JSONValue.parse(text) == value)
        let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect((foundation?["text"] as? String) == value["text"]?.stringValue)
    }

    @Test func escapesControlCharactersAndSortsKeys() {
        let value: JSONValue = ["b": "\u{1F}", "a": 1]
        #expect(value.serializedString() == #"{"a":1,"b":"\u001f"}"#)
        #expect(JSONValue.number(.infinity).serializedString() == "null")
    }
}

@Suite struct StrictParserTests {
    @Test(arguments: [
        "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity", "tru", "nul",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}b\"", "{\"a\" 1}", "{a:1}", "[1 2]", "\"abc", "{\"a\":1,\"a\":2}",
        "1 2", "1e999",
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func acceptsEveryValidForm() throws {
        let text = #" { "s" : "\"\\\/\b\f\n\r\t\u00e9\ud83e\udde0" , "n" : [ -0, 0.5, 1E3, 2e-2, -12.5e+1 ], "e" : {}, "l" : [] , "t": true, "f": false, "z": null } "#
        let value = try JSONValue.parse(text)
        #expect(value["s"] == .string("\"\\/\u{08}\u{0C}\n\r\té🧠"))
        #expect(value["n"] == [0, 0.5, 1000, 0.02, -125])
        #expect(value["e"] == [:] && value["l"] == [] && value["t"] == true && value["f"] == false && value["z"] == .null)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.parse(ok)) != nil)
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }
}
