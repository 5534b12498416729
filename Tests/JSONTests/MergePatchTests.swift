import Testing

@testable import JSON

/// The examples of RFC 7396 appendix A, plus the audit diff.
@Suite struct MergePatchTests {
    static let rfcExamples: [(target: String, patch: String, result: String)] = [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ]

    @Test(arguments: 0..<rfcExamples.count)
    func rfc7396AppendixA(index: Int) throws {
        let example = Self.rfcExamples[index]
        let merged = try JSONValue.parse(example.target).merging(patch: try JSONValue.parse(example.patch))
        #expect(merged == (try JSONValue.parse(example.result)))
    }

    @Test func changedPathsNameLeavesAddedRemovedAndReplaced() throws {
        let old = try JSONValue.parse(#"{"a":1,"b":{"c":2,"d":[1,2]},"e":"x"}"#)
        let new = try JSONValue.parse(#"{"a":1,"b":{"c":3,"d":[1,2,3]},"f":true}"#)
        #expect(old.changedPaths(to: new).map(\.description) == ["/b/c", "/b/d", "/e", "/f"])
        #expect(old.changedPaths(to: old).isEmpty)
    }
}
