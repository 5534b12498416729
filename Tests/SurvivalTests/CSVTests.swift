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
}
