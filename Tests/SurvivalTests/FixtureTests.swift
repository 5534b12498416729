import Foundation
import Testing

@testable import Survival

/// One case of `Fixtures/cases.json` (written by `Fixtures/make_fixtures.R`).
struct FixtureCase: CustomTestStringConvertible, Sendable {
    let id: String
    let csv: String
    let expected: String
    let columns: CSVColumns
    let options: AnalysisOptions

    var testDescription: String { id }

    static func all() throws -> [FixtureCase] {
        let manifest = try JSONTree.parse(Fixtures.data("cases.json"))
        return manifest.array.map { c in
            let cols = c["columns"]!
            func names(_ key: String) -> [String] {
                guard let v = cols[key] else { return [] }
                if let s = v.string { return [s] }
                return v.array.compactMap(\.string)
            }
            let opts = c["options"]!
            return FixtureCase(
                id: c["id"]!.string!, csv: c["csv"]!.string!, expected: c["expected"]!.string!,
                columns: CSVColumns(
                    time: cols["time"]!.string!, event: cols["event"]!.string!, entry: cols["entry"]?.string,
                    group: cols["group"]?.string, numeric: names("numeric"), categorical: names("categorical")),
                options: AnalysisOptions(
                    confType: ConfidenceType(rawValue: opts["conf_type"]!.string!)!,
                    confLevel: opts["conf_level"]!.number!,
                    landmarks: opts["landmarks"]!.array.compactMap(\.number),
                    tau: opts["tau"]?.number,
                    quantiles: opts["quantiles"]!.array.compactMap(\.number)))
        }
    }
}

/// Every report field against R's survival package: 1e-9 relative (1e-6 for Cox).
@Test("Report matches R survival", arguments: try FixtureCase.all())
func reportMatchesR(_ fixture: FixtureCase) throws {
    let input = try SurvivalCSV.read(Fixtures.text(fixture.csv), columns: fixture.columns)
    let report = try SurvivalAnalysis.analyze(input.data, options: fixture.options, droppedRows: input.droppedRows)
    let actual = try JSONTree.parse(encodeReport(report))
    let expected = try JSONTree.parse(Fixtures.data(fixture.expected))
    let diffs = differences(actual, expected) { path in path.hasPrefix("$.cox") ? 1e-6 : 1e-9 }
    #expect(diffs.isEmpty, "\(diffs.count) differences, first: \(diffs.prefix(15).joined(separator: "\n"))")
}

@Test func manifestCoversTheRequiredScenarios() throws {
    let cases = try FixtureCase.all()
    #expect(cases.count >= 25)
    for type in ConfidenceType.allCases {
        #expect(cases.contains { $0.options.confType == type })
    }
    #expect(cases.contains { $0.columns.entry != nil })
    #expect(cases.contains { $0.columns.group == nil })
    #expect(cases.contains { !$0.columns.categorical.isEmpty && !$0.columns.numeric.isEmpty })
    #expect(cases.contains { $0.options.confLevel != 0.95 })
}
