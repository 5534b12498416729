import JSON
import Registry
import Testing

@Suite struct ImportRecordReaderTests {
    func records(_ text: String, _ format: ImportRecordReader.Format) throws(ImportBodyError) -> [ImportRecord] {
        var reader = ImportRecordReader(body: Array(text.utf8), format: format)
        var found: [ImportRecord] = []
        while let record = try reader.next() { found.append(record) }
        return found
    }

    func values(_ records: [ImportRecord]) -> [JSONValue?] {
        records.map { if case .json(let value) = $0 { value } else { nil } }
    }

    @Test func readsAJSONArrayElementByElement() throws {
        let text = #" [ {"a":"x]}\"y","b":[1,{"c":"}"}]} , 2 ,"s,]", [3,[4]] ,null,true ] "#
        let found = values(try records(text, .jsonArray))
        #expect(found == [["a": "x]}\"y", "b": [1, ["c": "}"]]], 2, "s,]", [3, [4]], .null, true])
        #expect(try records("[]", .jsonArray).isEmpty)
        #expect(try records(" [ ]\n", .jsonArray).isEmpty)
    }

    @Test func refusesABodyThatIsNotOneWellFormedArray() {
        for text in ["", "   ", "[", "[1", "[1,", "[1,]", "[1 2]", "[1]x", "[1][2]", #"["open]"#, "[{]", "[tru]", "{\"a\":1} x"] {
            #expect(throws: ImportBodyError.self, "\(text)") { try records(text, .jsonArray) }
        }
        #expect(throws: ImportBodyError.notAnArray) { try records(#"{"a":1}"#, .jsonArray) }
        #expect(throws: ImportBodyError.notAnArray) { try records("3", .jsonArray) }
    }

    @Test func readsNDJSONLineByLineAndMarksBadLines() throws {
        let found = try records("{\"a\":1}\r\n\n   \n[1]\nnot json\n  {\"b\":2}  ", .ndjson)
        #expect(found.count == 4)
        #expect(values(found) == [["a": 1], [1], nil, ["b": 2]])
        #expect(try records("", .ndjson).isEmpty)
        #expect(ImportRecord.ndjson(Array("{}\n{}\n".utf8)).count == 2)
    }
}
