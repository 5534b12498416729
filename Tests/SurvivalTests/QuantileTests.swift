import Testing

@testable import Survival

/// R's internal `survival:::findq` (quantile.survfit) on limits that are not monotone and have
/// NA values, cases the fixture curves rarely reach. Reference values from R 4.2 / survival 3.5.3:
///   x <- c(0, 1:7); cv <- c(1, 0.9, 0.95, 0.6, 0.4, 0.45, NA)
///   survival:::findq(x, c(0, 1 - cv), p, sqrt(.Machine$double.eps))
@Suite struct QuantileTests {
    @Test(arguments: [
        (0.05, 2.5), (0.1, 3.0), (0.4, 5.0), (0.45, 6.0), (0.5, 6.0), (0.55, 5.5), (0.6, Double.nan), (0.7, .nan),
    ])
    func nonMonotoneBandWithTrailingNA(p: Double, expected: Double) {
        let cv: [Double] = [1, 0.9, 0.95, 0.6, 0.4, 0.45, .nan]
        let q = findQuantile(times: [1, 2, 3, 4, 5, 6, 7], count: cv.count, p: p) { cv[$0] }
        if expected.isNaN { #expect(q == nil) } else { #expect(q == expected) }
    }

    /// cv2 <- c(NA, 0.8, 0.5, 0.5, 0.7, 0.3); findq(c(0, 1:6), c(0, 1 - cv2), p, tol)
    @Test(arguments: [(0.2, 3.5), (0.5, 4.5), (0.7, 6.0)])
    func leadingNAAndAFlatStretch(p: Double, expected: Double) {
        let cv: [Double] = [.nan, 0.8, 0.5, 0.5, 0.7, 0.3]
        #expect(findQuantile(times: [1, 2, 3, 4, 5, 6], count: cv.count, p: p) { cv[$0] } == expected)
    }

    @Test func monotoneCurveRules() {
        // S = 0.5 exactly from t = 2 to 3: median is the midpoint 2.5 (quantile.survfit).
        let s: [Double] = [0.75, 0.5, 0.25, 0]
        #expect(findQuantile(times: [1, 2, 3, 4], count: 4, p: 0.5) { s[$0] } == 2.5)
        // Ends flat at 0.5: midpoint of the time it got there and the last time.
        let flat: [Double] = [0.75, 0.5, 0.5, 0.5]
        #expect(findQuantile(times: [1, 2, 3, 4], count: 4, p: 0.5) { flat[$0] } == 3)
        // Never reaches 0.5: null, never a number.
        let high: [Double] = [0.9, 0.8, 0.7]
        #expect(findQuantile(times: [1, 2, 3], count: 3, p: 0.5) { high[$0] } == nil)
        // Within sqrt(machine eps) of 0.5 counts as 0.5 (R's tolerance), beyond it does not.
        let near: [Double] = [0.75, 0.5 + 1e-10, 0.25]
        #expect(findQuantile(times: [1, 2, 3], count: 3, p: 0.5) { near[$0] } == 2.5)
        let below: [Double] = [0.75, 0.5 - 1e-6, 0.25]
        #expect(findQuantile(times: [1, 2, 3], count: 3, p: 0.5) { below[$0] } == 2)
    }
}
