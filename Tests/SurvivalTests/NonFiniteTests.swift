import Foundation
import Testing

@testable import Survival

/// Results that are not finite are encoded as null, never as an encoding error (the probes of
/// issue 10: tau = 1e155 on survival, conf_level = 0.9999999999999999 on Cox).
@Suite struct NonFiniteTests {
    static let data = SurvivalData(
        time: [5, 8, 9, 12, 13, 13, 18, 23, 27, 28, 30, 31], event: [true, true, true, true, true, false, true, true, true, false, true, true],
        group: ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b"],
        covariates: [.numeric("age", [71, 65, 80, 59, 62, 77, 55, 68, 49, 73, 61, 58])])

    @Test func hugeTauEncodes() throws {
        let report = try SurvivalAnalysis.analyze(Self.data, options: AnalysisOptions(tau: 1e155))
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"rmst_differences\""))
        #expect(!json.lowercased().contains("nan") && !json.lowercased().contains("inf"))
    }

    /// As R (qnorm(1 - (1 - level) / 2) rounds to qnorm(1) = Inf), the limits are infinite: they
    /// encode as null instead of failing the encoding.
    @Test func confidenceLevelJustBelowOneEncodes() throws {
        let level = 0.9999999999999999
        let report = try SurvivalAnalysis.analyze(Self.data, options: AnalysisOptions(confLevel: level, tau: 20, phTest: true))
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!json.lowercased().contains("nan") && !json.lowercased().contains("inf"))
        #expect(json.contains("\"upper\":null"))
    }

    @Test func nonFiniteCoxValuesEncodeAsNull() throws {
        let term = CoxTerm(
            term: "x", coef: .infinity, hazardRatio: .infinity, stdErr: .nan, z: .nan, pValue: .nan, lower: 0, upper: .infinity)
        let json = String(decoding: try JSONEncoder().encode(term), as: UTF8.self)
        #expect(json.contains("\"upper\":null") && json.contains("\"coef\":null"))
        let test = ChiSquareTest(statistic: .infinity, df: 1, pValue: 0)
        #expect(String(decoding: try JSONEncoder().encode(test), as: UTF8.self).contains("\"statistic\":null"))
    }

}
