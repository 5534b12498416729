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
