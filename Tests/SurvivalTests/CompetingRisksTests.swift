import Foundation
import Testing

@testable import Survival

/// One case of `Fixtures/competing/cases.json` (written by `make_competing_fixtures.R`).
struct CompetingFixture: CustomTestStringConvertible, Sendable {
    let id: String
    let csv: String
    let time: String
    let event: String
    let group: String?
    let numeric: [String]
    let categorical: [String]
    let times: [Double]
    let confLevel: Double

    var testDescription: String { id }

    static func all() throws -> [CompetingFixture] {
        try JSONTree.parse(Fixtures.data("competing/cases.json")).array.map { c in
            let cols = c["columns"]!
            return CompetingFixture(
                id: c["id"]!.string!, csv: c["csv"]!.string!, time: cols["time"]!.string!,
                event: cols["event"]!.string!, group: cols["group"]?.string,
                numeric: cols["numeric"]?.array.compactMap(\.string) ?? [],
                categorical: cols["categorical"]?.array.compactMap(\.string) ?? [],
                times: c["times"]!.array.compactMap(\.number), confLevel: c["conf_level"]!.number!)
        }
    }

    /// Reads the CSV: the event column as text, the other columns through the survival CSV
    /// reader (which drops rows with a missing used value, as the R script does).
    func data() throws -> CompetingRisksData {
        let text = try Fixtures.text("competing/" + csv)
        // The survival reader wants a 0/1 event: read the cause as a categorical column instead.
        let columns = CSVColumns(
            time: time, event: "__event01", group: group, numeric: numeric, categorical: [event] + categorical)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        lines[0] += ",\"__event01\""
        for i in 1..<lines.count { lines[i] += ",0" }
        let input = try SurvivalCSV.read(lines.joined(separator: "\n"), columns: columns)
        var cause: [String] = []
        var covariates: [Covariate] = []
        for c in input.data.covariates {
            if c.name == event, case .categorical(let v) = c.values { cause = v } else { covariates.append(c) }
        }
        return CompetingRisksData(time: input.data.time, cause: cause, group: input.data.group, covariates: covariates)
    }

    func expected() throws -> JSONTree {
        try JSONTree.parse(Fixtures.data("competing/cases.json")).array.first { $0["id"]?.string == id }!["competing_risks"]!
    }
}

/// CIF (1e-6), variances and Gray's test (1e-5) and Fine-Gray (1e-4) against cmprsk 2.2-11.
@Test("Competing risks match cmprsk", arguments: try CompetingFixture.all())
func competingRisksMatchCmprsk(_ fixture: CompetingFixture) throws {
    let report = try CompetingRisks.analyze(
        fixture.data(), options: CompetingRisksOptions(times: fixture.times, confLevel: fixture.confLevel))
    let actual = try JSONTree.parse(JSONEncoder().encode(report))
    let diffs = differences(actual, try fixture.expected()) { path in
        if path.hasPrefix("$.fine_gray") { return 1e-4 }
        if path.hasPrefix("$.gray_test") || path.hasSuffix("variance") { return 1e-5 }
        // Limits are functions of the variance, so they carry its tolerance.
        if path.hasSuffix("lower") || path.hasSuffix("upper") { return 1e-5 }
        return 1e-6
    }
    #expect(diffs.isEmpty, "\(diffs.count) differences, first: \(diffs.prefix(15).joined(separator: "\n"))")
}
