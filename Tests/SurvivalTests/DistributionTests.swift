import Foundation
import Testing

@testable import Survival

/// R's pchisq / pnorm / qnorm values written by make_fixtures.R.
@Suite struct DistributionTests {
    let reference: JSONTree

    init() throws {
        reference = try JSONTree.parse(Fixtures.data("distributions.json"))
    }

    @Test func chiSquareUpperTailMatchesR() {
        let rows = reference["chisq"]!.array
        #expect(rows.count > 100)
        for row in rows {
            let x = row["x"]!.number!, df = row["df"]!.number!, p = row["p"]!.number!
            let ours = Distributions.chiSquareUpperTail(x, df: df)
            #expect(
                abs(ours - p) <= 1e-12 * p || (p == 0 && ours < 1e-300),
                "pchisq(\(x), \(df), lower = FALSE): \(ours) vs R \(p)")
        }
    }

    @Test func normalTailMatchesR() {
        for row in reference["normal_tail"]!.array {
            let x = row["x"]!.number!, p = row["p"]!.number!
            let ours = Distributions.normalUpperTail(x)
            #expect(abs(ours - p) <= 1e-12 * p, "pnorm(\(x), lower = FALSE): \(ours) vs R \(p)")
        }
    }

    @Test func normalQuantileMatchesR() {
        for row in reference["qnorm"]!.array {
            let level = row["level"]!.number!, z = row["z"]!.number!
            let ours = Distributions.normalQuantile(1 - (1 - level) / 2)
            #expect(abs(ours - z) <= 1e-13 * max(1, abs(z)), "qnorm at level \(level): \(ours) vs R \(z)")
        }
    }

    @Test func tinyPValuesAreNotZero() {
        // R: pchisq(140, 1, lower.tail = FALSE) = 2.66203489e-32 and pchisq(700, 3, ...) ~ 1.2e-151
        let p = Distributions.chiSquareUpperTail(140, df: 1)
        #expect(p > 0 && abs(p / 2.6620348904588313e-32 - 1) < 1e-12)
        #expect(Distributions.chiSquareUpperTail(700, df: 3) > 0)
        #expect(Distributions.chiSquareUpperTail(1400, df: 7) > 0)
        #expect(Distributions.twoSidedNormalPValue(12) > 0)
    }

    @Test func edgeCases() {
        #expect(Distributions.chiSquareUpperTail(0, df: 3) == 1)
        #expect(Distributions.chiSquareUpperTail(-1, df: 3) == 1)
        #expect(Distributions.chiSquareUpperTail(.infinity, df: 3) == 0)
        #expect(Distributions.chiSquareUpperTail(3, df: 0).isNaN)
        #expect(Distributions.chiSquareUpperTail(.nan, df: 2).isNaN)
        #expect(Distributions.normalQuantile(0.5) == 0)
        #expect(Distributions.normalQuantile(0) == -.infinity)
        #expect(Distributions.normalQuantile(1.5).isNaN)
        #expect(abs(Distributions.normalQuantile(0.025) + 1.959963984540054) < 1e-14)
        #expect(Distributions.normalCDF(0) == 0.5)
    }

    @Test func holmMatchesR() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02
        let adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005])
        let expected = [0.03, 0.06, 0.06, 0.02]
        for (a, e) in zip(adjusted, expected) { #expect(abs(a! - e) < 1e-15) }
        #expect(holmAdjust([0.5, nil, 0.9]) == [1.0, nil, 1.0])
    }
}
