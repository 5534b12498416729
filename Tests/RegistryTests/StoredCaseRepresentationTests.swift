import JSON
@testable import Registry
import Testing

@Suite struct StoredCaseRepresentationTests {
    static func members(_ text: String) -> [StoredCase.TopLevelMember]? {
        var text = text
        return text.withUTF8 { StoredCase.topLevelMembers($0) }
    }

    static func stored(data: JSONValue, classification: JSONValue, spliced: Bool) -> StoredCase {
        StoredCase(
            id: "0b7e2f1c-5d3a-4e8b-9c1f-2a6d4e8b0c1f", site: "HOSP-A", externalID: "A-1", version: 12,
            createdAt: "2026-01-02T03:04:05.678Z", updatedAt: "2026-02-03T04:05:06.789Z", data: data,
            classification: classification, engineVersion: "classification-9",
            serialized: spliced ? SerializedParts(data: data.serializedString(), classification: classification.serializedString()) : nil)
    }

    /// The spliced text is exactly `toJSON()` serialized: data keys before, between and after the
    /// added ones, data keys that the added ones replace, and values whose text holds braces,
    /// brackets, commas, quotes, escapes and non-ASCII characters.
    @Test(arguments: [
        ["external_id": "A-1", "sex": "female", "birth_year": 1955, "intracranial": ["diagnosis_date": "2023-02-01", "prior_lines": 1]],
        ["a": 1, "clz": [1, [2, ["x": "}"]]], "d": "],{\"\\", "f": ["g": .null], "j": true, "s": "é,}", "u": [:], "w": [], "z": -0.5],
        ["id": "not the case id", "version": 99, "site": ["nested": "x"], "classification": "replaced", "zz": 1],
        [:],
        ["": 1, "~": "tilde sorts after every letter"],
    ] as [JSONValue])
    func splicedRepresentationIsTheSerializedObject(data: JSONValue) throws {
        let classification: JSONValue = ["localization": ["category": "OD", "rules": ["OD-BONE"]], "staging": ["iss": .null]]
        let expected = Array(Self.stored(data: data, classification: classification, spliced: false).toJSON().serialized())
        #expect(Self.stored(data: data, classification: classification, spliced: true).representation() == expected)
        #expect(Self.stored(data: data, classification: classification, spliced: false).representation() == expected)
    }

    /// Keys the splice does not order byte by byte (escaped, non-ASCII) fall back to serializing the object.
    @Test func keysTheSpliceCannotOrderFallBackToSerializing() throws {
        for data: JSONValue in [["é": 1, "a": 2], ["quo\"te": 1, "b\\": 2], ["tab\t": 1]] {
            #expect(Self.members(data.serializedString()) == nil)
            let expected = Array(Self.stored(data: data, classification: [:], spliced: false).toJSON().serialized())
            #expect(Self.stored(data: data, classification: [:], spliced: true).representation() == expected)
        }
    }

    @Test func membersOfACompactObjectAreFoundInOrder() throws {
        let text = #"{"a":{"b":[1,"},"]},"c":"x\"y","d":[]}"#
        let members = try #require(Self.members(text))
        let bytes = Array(text.utf8)
        #expect(members.map { String(decoding: bytes[$0.key], as: UTF8.self) } == ["a", "c", "d"])
        #expect(members.map { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) } == [#""a":{"b":[1,"},"]}"#, #""c":"x\"y""#, #""d":[]"#])
        for malformed in [#"{"a":1"#, #"{"a":}"#, #"{"a":1,}"#, #"{"a" :1}"#, #"[1]"#, #"{"a":"}"#, #"{"a":1}}"#] {
            #expect(Self.members(malformed) == nil, "\(malformed)")
        }
    }
}
