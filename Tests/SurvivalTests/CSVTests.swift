import Testing

@testable import Survival

@Suite struct CSVTests {
    let columns = CSVColumns(time: "t", event: "e", group: "g", numeric: ["age"], categorical: ["g"])

    @Test func parsesQuotedFieldsBlankLinesAndCRLF() throws {
        let text = "\u{FEFF}t,e,g,age,unused\r\n1.5,1,\"a, b\",60,x\r\n\r\n2,true,\"say \"\"hi\"\"\",70,\n3,FALSE,a,80,y\n"
        let input = try SurvivalCSV.read(text, columns: columns)
        #expect(input.data.time == [1.5, 2, 3])
        #expect(input.data.event == [true, true, false])
        #expect(input.data.group == ["a, b", "say \"hi\"", "a"])
        #expect(input.droppedRows == 0)
        #expect(input.data.covariates == [.numeric("age", [60, 70, 80]), .categorical("g", ["a, b", "say \"hi\"", "a"])])
    }

    @Test func rowsWithMissingUsedValuesAreDroppedAndCounted() throws {
        let text = "t,e,g,age,unused\n1,1,a,60,\n,1,a,61,z\n2,0,,62,z\n3,1,b,NA,z\n4,0,b,64, \n"
        let input = try SurvivalCSV.read(text, columns: columns)
        #expect(input.droppedRows == 3)
        #expect(input.data.time == [1, 4])
    }

    @Test func errorsSayWhatAndWhere() {
        #expect(throws: SurvivalError.csvEmpty) { try SurvivalCSV.read("", columns: columns) }
        #expect(throws: SurvivalError.csvMissingColumn("age")) {
            try SurvivalCSV.read("t,e,g\n1,1,a\n", columns: columns)
        }
        #expect(throws: SurvivalError.csvInvalidValue(line: 3, column: "t", expected: "a finite number >= 0")) {
            try SurvivalCSV.read("t,e,g,age\n1,1,a,3\nsoon,1,a,4\n", columns: columns)
        }
        #expect(throws: SurvivalError.csvInvalidValue(line: 2, column: "t", expected: "a finite number >= 0")) {
            try SurvivalCSV.read("t,e,g,age\n-1,1,a,3\n", columns: columns)
        }
        #expect(throws: SurvivalError.csvInvalidValue(line: 2, column: "e", expected: "1/0 or true/false")) {
            try SurvivalCSV.read("t,e,g,age\n1,2,a,3\n", columns: columns)
        }
        #expect(throws: SurvivalError.csvInvalidValue(line: 2, column: "age", expected: "a finite number")) {
            try SurvivalCSV.read("t,e,g,age\n1,1,a,old\n", columns: columns)
        }
        #expect(throws: SurvivalError.csvMalformed(line: 2, reason: "expected 4 fields, found 3")) {
            try SurvivalCSV.read("t,e,g,age\n1,1,a\n", columns: columns)
        }
        #expect(throws: SurvivalError.csvMalformed(line: 2, reason: "unterminated quoted field")) {
            try SurvivalCSV.read("t,e,g,age\n1,1,\"a,3\n", columns: columns)
        }
        let withEntry = CSVColumns(time: "t", event: "e", entry: "s")
        #expect(
            throws: SurvivalError.csvInvalidValue(line: 2, column: "s", expected: "an entry time before the exit time")
        ) {
            try SurvivalCSV.read("t,e,s\n5,1,5\n", columns: withEntry)
        }
        #expect(throws: SurvivalError.self) {
            try SurvivalCSV.read("t,e\n1,1\n", columns: CSVColumns(time: "t", event: "t"))
        }
    }
    /// `read(bytes:)` (no String of the whole file, used by `icmm analyze`) gives what `read` gives
    /// on the decoded text, invalid UTF-8, a BOM, quotes, spaces, NA and errors included.
    @Test func readingBytesMatchesReadingText() throws {
        let samples: [[UInt8]] = [
            Array("\u{FEFF}t,e,g,age,unused\r\n1.5,1,\"a, b\",60,x\r\n\r\n2,true,\"say \"\"hi\"\"\",70,\n3,FALSE,a,80,y\n".utf8),
            Array("t,e,g,age\n 1 ,\t0, b ,1e3\n2,1,NA,3\n4,1, b,-0\n5,0,\" b\",+.5\n6,0,c\u{e9},0x1p3\n".utf8),
            [UInt8]("t,e,g,age\n1,1,".utf8) + [0xFF, 0xC3] + [UInt8](",2\n2,0,".utf8) + [0xE2, 0x82] + [UInt8](",3\n".utf8),
            [UInt8]("t,e,g,age\n1,1,a,4".utf8) + [0xFF] + [UInt8]("\n".utf8),
            Array("t,e,g,age\n1,2,a,3\n".utf8),
            Array("t,e,g,age\nsoon,1,a,3\n".utf8),
        ]
        for sample in samples {
            let fromText = Result { () throws(SurvivalError) in
                try SurvivalCSV.read(String(decoding: sample, as: UTF8.self), columns: columns)
            }
            let fromBytes = Result { () throws(SurvivalError) in
                try sample.withUnsafeBufferPointer { (b) throws(SurvivalError) in try SurvivalCSV.read(bytes: b, columns: columns) }
            }
            switch (fromText, fromBytes) {
            case (.success(let a), .success(let b)):
                #expect(a.data.time.map(\.bitPattern) == b.data.time.map(\.bitPattern))
                #expect(a.data.event == b.data.event)
                #expect(a.data.group == b.data.group)
                #expect(a.data.covariates == b.data.covariates)
                #expect(a.droppedRows == b.droppedRows)
            case (.failure(let a), .failure(let b)):
                #expect(a == b)
            default:
                Issue.record("text and bytes disagree: \(fromText) vs \(fromBytes)")
            }
        }
    }
}
