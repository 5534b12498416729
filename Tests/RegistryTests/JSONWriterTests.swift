import Cohorts
import Foundation
import JSON
import Survival
import Testing

/// The one JSON encoder of the analysis report: byte for byte what Foundation's JSONEncoder
/// (sorted keys, compact or pretty) wrote before it, on real R data sets.
@Suite struct JSONWriterTests {
    static func report(_ file: String, group: String?, numeric: [String] = [], categorical: [String] = [], options: AnalysisOptions)
        throws -> SurvivalReport
    {
        let text = try String(contentsOfFile: repositoryRoot + "/Tests/SurvivalTests/Fixtures/" + file, encoding: .utf8)
        let input = try SurvivalCSV.read(
            text, columns: CSVColumns(time: "time", event: "status", group: group, numeric: numeric, categorical: categorical))
        return try SurvivalAnalysis.analyze(input.data, options: options, droppedRows: input.droppedRows)
    }

    static func reports() throws -> [SurvivalReport] {
        [
            try report(
                "lung_sex.csv", group: "sex", numeric: ["age"], categorical: ["sex"],
                options: AnalysisOptions(confType: .log, confLevel: 0.95, landmarks: [182.6, 365.25], tau: 730, quantiles: [0.25, 0.75])),
            try report("veteran.csv", group: "celltype", options: AnalysisOptions(confType: .logLog, confLevel: 0.9)),
            try report("veteran.csv", group: nil, options: AnalysisOptions()),
        ]
    }

    @Test func compactOutputIsFoundationsSortedKeys() throws {
        for report in try Self.reports() {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let expected = try encoder.encode(report)
            var writer = JSONWriter()
            writer.write(report)
            #expect(writer.bytes == Array(expected))
            #expect(writer.nonFiniteCount == 0)
        }
    }

    @Test func prettyOutputIsFoundationsPrettyPrinted() throws {
        for report in try Self.reports() {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let expected = String(decoding: try encoder.encode(report), as: UTF8.self)
            var writer = JSONWriter(pretty: true)
            writer.write(report)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
        }
    }

    @Test func chunksReachTheSinkInOrder() throws {
        let report = try Self.reports()[0]
        var whole = JSONWriter()
        whole.write(report)
        let collected = Collector()
        var streaming = JSONWriter(chunkSize: 512) { collected.bytes.append(contentsOf: $0) }
        streaming.write(report)
        streaming.flush()
        #expect(collected.bytes == whole.bytes)
        #expect(collected.bytes.count > 4096)
    }

    final class Collector: @unchecked Sendable { var bytes: [UInt8] = [] }

    /// Non-integral numbers are written as Swift's `description` writes them.
    @Test func numbersReadAsTheirDescription() throws {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0.1, 1e-5, 1e-300, 5e-324, 1.7976931348623157e308, 9.5e15, 123.456, -0.5, 2.0 / 3.0]
        for _ in 0..<20_000 {
            values.append(Double(bitPattern: generator.next()))
            values.append(Double.random(in: -1e6...1e6, using: &generator))
        }
        for value in values where value.isFinite && !(value.rounded(.towardZero) == value && abs(value) < 9.0e15) {
            var writer = JSONWriter()
            writer.number(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == value.description)
        }
    }

    @Test func scalarsAndEscapes() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("a", "quote \" backslash \\ newline \n tab \t control \u{01} unicode é ✓ slash /")
        writer.key("b")
        writer.beginArray()
        for value in [0, -1, 1.5, 0.1, 1e-7, 123456789012, -2.5e300, 9.5e15, -0.0] { writer.number(value) }
        writer.number(nil)
        writer.number(.nan)
        writer.int(Int.min + 1)
        writer.endArray()
        writer.member("c", finite: .infinity)
        writer.key("d")
        writer.beginObject()
        writer.endObject()
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"a":"quote \" backslash \\ newline \n tab \t control \u0001 unicode é ✓ slash /","b":[0,-1,1.5,0.1,1e-07,123456789012,-2.5e+300,9.5e+15,0,null,null,-9223372036854775807],"c":null,"d":{}}"#))
        #expect(writer.nonFiniteCount == 1)
        // What it writes reads back as the same JSON.
        let parsed = try JSONValue.parse(writer.bytes)
        #expect(parsed["b"]?.arrayValue?.count == 12)
    }
}
