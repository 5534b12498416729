import Foundation
import Testing

@testable import Survival

/// One case of `Fixtures/cox/cases.json` (written by `Fixtures/cox/make_cox_fixtures.R`).
struct CoxFixture: CustomTestStringConvertible, Sendable {
    let id: String
    let csv: String
    let columns: CSVColumns
    let strata: String?
    let confLevel: Double

    var testDescription: String { id }

    static func all() throws -> [CoxFixture] {
        try JSONTree.parse(Fixtures.data("cox/cases.json")).array.map { c in
            let cols = c["columns"]!
            func names(_ key: String) -> [String] { cols[key]?.array.compactMap(\.string) ?? [] }
            let strata = cols["strata"]?.string
            return CoxFixture(
                id: c["id"]!.string!, csv: c["csv"]!.string!,
                columns: CSVColumns(
                    time: cols["time"]!.string!, event: cols["event"]!.string!, entry: cols["entry"]?.string,
                    group: strata, numeric: names("numeric"), categorical: names("categorical")),
                strata: strata, confLevel: c["conf_level"]!.number!)
        }
    }

    /// The subjects, with the strata column moved from `group` (how the CSV reader delivers it).
    func data() throws -> SurvivalData {
        var data = try SurvivalCSV.read(Fixtures.text("cox/" + csv), columns: columns).data
        if let strata {
            data.strata = Strata(name: strata, values: data.group!)
            data.group = nil
        }
        return data
    }

    func expected() throws -> JSONTree {
        try JSONTree.parse(Fixtures.data("cox/cases.json")).array.first { $0["id"]?.string == id }!["cox"]!
    }
}

/// Stratified Cox and cox.zph(transform = "km") against R survival 3.5, 1e-5 relative.
@Test("Stratified Cox and PH test match R", arguments: try CoxFixture.all())
func coxWithPHTestMatchesR(_ fixture: CoxFixture) throws {
    let report = try SurvivalAnalysis.analyze(
        fixture.data(), options: AnalysisOptions(confLevel: fixture.confLevel, phTest: true))
    let encoder = JSONEncoder()
    let actual = try JSONTree.parse(encoder.encode(report.cox))
    let diffs = differences(actual, try fixture.expected()) { _ in 1e-5 }
    #expect(diffs.isEmpty, "\(diffs.count) differences, first: \(diffs.prefix(15).joined(separator: "\n"))")
}

@Test func coxFixturesCoverTheRequiredScenarios() throws {
    let cases = try CoxFixture.all()
    #expect(cases.filter { $0.strata != nil }.count >= 3)
    #expect(cases.contains { $0.strata != nil && $0.columns.entry != nil })
    #expect(cases.contains { $0.strata == nil })
}

@Test func strataWithOneLevelIsRefused() throws {
    let data = SurvivalData(
        time: [1, 2, 3, 4, 5, 6], event: [true, false, true, true, false, true],
        covariates: [.numeric("x", [1, 3, 2, 5, 4, 6])], strata: Strata(name: "centre", values: Array(repeating: "A", count: 6)))
    #expect(throws: SurvivalError.strataHaveOneLevel(name: "centre")) {
        try SurvivalAnalysis.analyze(data)
    }
    #expect(throws: SurvivalError.strataHaveOneLevel(name: "centre")) {
        try CoxModel.fit(
            time: data.time, event: data.event, columns: [[1, 3, 2, 5, 4, 6]], terms: ["x"],
            strata: data.strata!.values, strataName: "centre")
    }
}

@Test func strataLengthMismatchIsRefused() throws {
    #expect(throws: SurvivalError.lengthMismatch(column: "centre", expected: 4, actual: 3)) {
        try CoxModel.fit(
            time: [1, 2, 3, 4], event: [true, true, false, true], columns: [[1, 2, 4, 3]], terms: ["x"],
            strata: ["a", "b", "a"], strataName: "centre")
    }
}

/// A covariate that is constant within every stratum is confounded with the strata: refused.
@Test func covariateConstantWithinStrataIsRefused() throws {
    let data = SurvivalData(
        time: [1, 2, 3, 4, 5, 6, 7, 8], event: [true, true, false, true, true, true, false, true],
        covariates: [.numeric("x", [0, 0, 0, 0, 1, 1, 1, 1]), .numeric("z", [3, 1, 4, 1, 5, 9, 2, 6])],
        strata: Strata(name: "s", values: ["a", "a", "a", "a", "b", "b", "b", "b"]))
    #expect(throws: SurvivalError.collinearCovariates) { try SurvivalAnalysis.analyze(data) }
}
