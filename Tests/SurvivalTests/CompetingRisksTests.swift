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

    /// Reads the CSV with the competing-risks reader (the cause as text; rows with a missing
    /// used value dropped, as the R script does).
    func data() throws -> CompetingRisksData {
        let columns = CSVColumns(time: time, event: event, group: group, numeric: numeric, categorical: categorical)
        return try SurvivalCSV.readCompeting(Fixtures.text("competing/" + csv), columns: columns).data
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

/// pbc: no transplant (cause "1") with edema 1, so crr's coefficient runs off to infinity and
/// cmprsk reports converged = FALSE. Here that is a typed error naming the cause.
@Test func fineGrayThatDoesNotConvergeIsATypedError() throws {
    let fixture = try #require(try CompetingFixture.all().first { $0.id == "pbc" })
    var data = try fixture.data()
    data.covariates = [.categorical("edema", data.group!)]
    do {
        _ = try CompetingRisks.analyze(data)
        Issue.record("expected a non-convergence error")
    } catch {
        guard case .fineGrayDidNotConverge(let cause, _) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(cause == "1")
        #expect(error.description.contains("did not converge"))
    }
}

/// A declared cause without any event is reported with zero events, a zero incidence, a null
/// Gray statistic and a Fine-Gray entry without terms, each with a reason; not an error.
@Test func aCauseWithoutEventsIsReportedWithZeroEvents() throws {
    let data = CompetingRisksData(
        time: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        cause: ["progression", "0", "progression", "0", "progression", "progression", "0", "progression", "0", "0"],
        group: ["a", "a", "a", "a", "a", "b", "b", "b", "b", "b"],
        covariates: [.numeric("age", [50, 61, 72, 45, 66, 58, 70, 49, 63, 55])])
    let report = try CompetingRisks.analyze(
        data, options: CompetingRisksOptions(times: [5], causes: ["death", "progression"]))
    #expect(report.causes == ["death", "progression"])
    let death = report.groups.filter { $0.cause == "death" }
    #expect(death.count == 2)
    for g in death {
        #expect(g.events == 0)
        #expect(g.curve.isEmpty)
        #expect(g.at[0].estimate == 0)
    }
    let grayDeath = try #require(report.grayTest?.first { $0.cause == "death" })
    #expect(grayDeath.statistic == nil && grayDeath.pValue == nil && grayDeath.reason != nil)
    let fgDeath = try #require(report.fineGray?.first { $0.cause == "death" })
    #expect(fgDeath.terms.isEmpty && fgDeath.events == 0 && fgDeath.reason != nil)
    let fgProgression = try #require(report.fineGray?.first { $0.cause == "progression" })
    #expect(fgProgression.terms.count == 1 && fgProgression.events == 5)
    // The JSON never holds a non-finite number.
    let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
    #expect(!json.contains("nan") && !json.contains("inf"))
}

/// Without censoring and a single cause, the incidence is the empirical distribution function.
@Test func incidenceWithoutCompetingEventsIsOneMinusKaplanMeier() throws {
    let time: [Double] = [2, 3, 3, 5, 8, 9, 12, 13, 13, 20]
    let cause = ["1", "1", "0", "1", "0", "1", "1", "0", "1", "1"]
    let report = try CompetingRisks.analyze(CompetingRisksData(time: time, cause: cause))
    let km = try KaplanMeierCurve.fit(time: time, event: cause.map { $0 == "1" })
    let curve = report.groups[0].curve
    var k = 0
    for (i, t) in km.time.enumerated() where km.nEvent[i] > 0 {
        #expect(curve[k].time == t)
        #expect(abs(curve[k].estimate! - (1 - km.survival[i])) < 1e-14)
        k += 1
    }
    #expect(k == curve.count)
}

@Test func invalidCompetingRisksInputIsRefused() {
    #expect(throws: SurvivalError.noSubjects) { try CompetingRisks.analyze(CompetingRisksData(time: [], cause: [])) }
    #expect(throws: SurvivalError.lengthMismatch(column: "event", expected: 2, actual: 1)) {
        try CompetingRisks.analyze(CompetingRisksData(time: [1, 2], cause: ["1"]))
    }
    #expect(throws: SurvivalError.invalidTime(index: 1)) {
        try CompetingRisks.analyze(CompetingRisksData(time: [1, -2], cause: ["1", "0"]))
    }
    #expect(throws: SurvivalError.self) {
        try CompetingRisks.analyze(
            CompetingRisksData(time: [1, 2], cause: ["1", "0"]), options: CompetingRisksOptions(confLevel: 1))
    }
    #expect(throws: SurvivalError.self) {
        try CompetingRisks.analyze(
            CompetingRisksData(time: [1, 2], cause: ["1", "0"]), options: CompetingRisksOptions(times: [.nan]))
    }
    #expect(throws: SurvivalError.covariateHasNoVariation(term: "x")) {
        try CompetingRisks.analyze(
            CompetingRisksData(time: [1, 2, 3], cause: ["1", "0", "2"], covariates: [.numeric("x", [1, 1, 1])]))
    }
    #expect(throws: SurvivalError.covariateHasNoVariation(term: "site")) {
        try CompetingRisks.analyze(
            CompetingRisksData(time: [1, 2, 3], cause: ["1", "0", "2"], covariates: [.categorical("site", ["A", "A", "A"])]))
    }
}

@Test func competingCSVKeepsCausesAsTextAndDropsMissingRows() throws {
    let text = "t,ev,g,x\n1,0,a,1.5\n2,death,a,2\n3,progression,b,\n4, progression ,b,3\n5,NA,b,1\n"
    let input = try SurvivalCSV.readCompeting(
        text, columns: CSVColumns(time: "t", event: "ev", group: "g", numeric: ["x"]))
    #expect(input.droppedRows == 2)
    #expect(input.data.time == [1, 2, 4])
    #expect(input.data.cause == ["0", "death", "progression"])
    #expect(input.data.group == ["a", "a", "b"])
    #expect(throws: SurvivalError.self) {
        try SurvivalCSV.readCompeting(text, columns: CSVColumns(time: "t", event: "ev", entry: "x"))
    }
}
