import Testing

@testable import Survival

@Suite struct ErrorTests {
    let time: [Double] = [5, 8, 12, 20, 25, 30]
    let event: [Bool] = [true, false, true, true, false, true]

    @Test func invalidInputIsATypedError() {
        #expect(throws: SurvivalError.noSubjects) { try KaplanMeierCurve.fit(time: [], event: []) }
        #expect(throws: SurvivalError.invalidTime(index: 1)) {
            try KaplanMeierCurve.fit(time: [1, -2], event: [true, true])
        }
        #expect(throws: SurvivalError.invalidTime(index: 0)) {
            try KaplanMeierCurve.fit(time: [.nan, 2], event: [true, true])
        }
        #expect(throws: SurvivalError.invalidTime(index: 0)) {
            try KaplanMeierCurve.fit(time: [.infinity], event: [true])
        }
        #expect(throws: SurvivalError.invalidEntry(index: 1)) {
            try KaplanMeierCurve.fit(time: [3, 4], event: [true, true], entry: [0, 4])
        }
        #expect(throws: SurvivalError.invalidEntry(index: 0)) {
            try KaplanMeierCurve.fit(time: [3, 4], event: [true, true], entry: [5, 1])
        }
        #expect(throws: SurvivalError.lengthMismatch(column: "event", expected: 2, actual: 1)) {
            try KaplanMeierCurve.fit(time: [3, 4], event: [true])
        }
        #expect(throws: SurvivalError.noSubjects) { try SurvivalAnalysis.analyze(SurvivalData(time: [], event: [])) }
    }

    @Test func invalidOptionsAreRejected() {
        let data = SurvivalData(time: time, event: event)
        for options in [
            AnalysisOptions(confLevel: 1), AnalysisOptions(confLevel: 0), AnalysisOptions(confLevel: .nan),
            AnalysisOptions(landmarks: [-1]), AnalysisOptions(tau: 0), AnalysisOptions(quantiles: [1]),
        ] {
            #expect(throws: SurvivalError.self) { try SurvivalAnalysis.analyze(data, options: options) }
        }
    }

    @Test func coxWithoutEvents() {
        #expect(throws: SurvivalError.noEvents) {
            try CoxModel.fit(time: time, event: Array(repeating: false, count: 6), columns: [[1, 2, 3, 4, 5, 6]], terms: ["x"])
        }
    }

    @Test func coxCovariateWithoutVariation() {
        #expect(throws: SurvivalError.covariateHasNoVariation(term: "x")) {
            try CoxModel.fit(time: time, event: event, columns: [[2, 2, 2, 2, 2, 2]], terms: ["x"])
        }
        let data = SurvivalData(time: time, event: event, covariates: [.categorical("sex", Array(repeating: "f", count: 6))])
        #expect(throws: SurvivalError.covariateHasNoVariation(term: "sex")) { try SurvivalAnalysis.analyze(data) }
    }

    @Test func coxCollinearCovariates() {
        let x: [Double] = [1, 3, 2, 5, 4, 6]
        #expect(throws: SurvivalError.collinearCovariates) {
            try CoxModel.fit(time: time, event: event, columns: [x, x.map { 2 * $0 + 1 }], terms: ["x", "y"])
        }
    }

    @Test func coxLevelWithoutEvents() {
        let group = ["a", "b", "a", "a", "b", "a"]  // "b" has no events
        let data = SurvivalData(time: time, event: event, covariates: [.categorical("arm", group)])
        #expect(throws: SurvivalError.levelWithoutEvents(term: "armb")) { try SurvivalAnalysis.analyze(data) }
    }

    @Test func coxThatDoesNotConvergeIsAnError() {
        // Every event has a larger x than every subject still at risk: the MLE is +infinity.
        // R: coxph(Surv(1:8, e) ~ x) "Ran out of iterations and did not converge" (coef 18.2).
        let t: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
        let e: [Bool] = [true, true, true, true, false, false, false, false]
        let x: [Double] = [10, 9, 8, 7, 1, 2, 3, 1.5]
        #expect(throws: SurvivalError.coxDidNotConverge(iterations: 20)) {
            try CoxModel.fit(time: t, event: e, columns: [x], terms: ["x"])
        }
    }

    @Test func coxMonotoneLikelihoodIsAnInfiniteCoefficient() throws {
        // Fixtures/monotone.csv: no events where x = 1. R converges in 20 iterations with
        // coef(x) = -21.2 and warns "Loglik converged before variable 1; coefficient may be infinite".
        let input = try SurvivalCSV.read(
            Fixtures.text("monotone.csv"), columns: CSVColumns(time: "t", event: "e", numeric: ["x", "z"]))
        #expect(input.data.time.count == 60)
        #expect(throws: SurvivalError.infiniteCoefficient(term: "x")) { try SurvivalAnalysis.analyze(input.data) }
    }

    @Test func reportNeverContainsNonFiniteNumbers() throws {
        // Curve reaching 0 (R: std.err NaN, limits NA) must encode as nulls, not NaN.
        let data = SurvivalData(time: [1, 2, 3], event: [true, true, true])
        let report = try SurvivalAnalysis.analyze(data, options: AnalysisOptions(confType: .logLog, landmarks: [2.5, 10]))
        let json = String(decoding: try encodeReport(report), as: UTF8.self)
        #expect(!json.contains("nan") && !json.contains("inf"))
        #expect(json.contains(#""std_err":null"#))
        let last = report.groups[0].survivalAt[1]
        #expect(last.survival == nil && last.nRisk == 0)
        #expect(report.groups[0].median.estimate == 2)
    }

    @Test func medianNotReachedIsNull() throws {
        let data = SurvivalData(time: [1, 2, 3, 4, 5], event: [true, false, false, false, false])
        let report = try SurvivalAnalysis.analyze(data)
        #expect(report.groups[0].median == Estimate(estimate: nil, lower: nil, upper: nil))
        let json = String(decoding: try encodeReport(report), as: UTF8.self)
        #expect(json.contains(#""median":{"estimate":null,"lower":null,"upper":null}"#))
    }

    @Test func logRankWithoutEventsHasNoPValue() throws {
        let data = SurvivalData(time: [1, 2, 3, 4], event: [false, false, false, false], group: ["a", "a", "b", "b"])
        let report = try SurvivalAnalysis.analyze(data)
        #expect(report.logrank?.pValue == nil)
        #expect(report.logrank?.df == 0)
    }

    @Test func errorDescriptionsNameColumnsNotValues() {
        let e = SurvivalError.csvInvalidValue(line: 7, column: "time", expected: "a finite number >= 0")
        #expect(e.description == "CSV line 7, column 'time': expected a finite number >= 0")
    }
}
