/// The tests a survival report shows, from one pass over the sorted subjects: the log-rank test
/// (rho = 0), the Peto-Peto test (rho = 1) and, with `pairs`, the log-rank test of every pair of
/// groups (a < b, in that order) on that pair's subjects only.
///
/// The pass over the times is `LogRankTest.forEachDeathTime`, and the log-rank and Peto-Peto
/// sums are `LogRankTest.accumulate`, as in `LogRankTest.compute`.
/// Each sum takes the same values in the same order as `LogRankTest.compute` on its own
/// (subsetted) data, so every result is the same double: a pair's risk set at t is
/// risk[a] + risk[b], its deaths d[a] + d[b] (integers, exact as doubles), and its distinct
/// times without a death in the pair add nothing; rho = 1 weighs by S(t-)^1 = S(t-).
struct LogRankFamily {
    let logRank: LogRankTest
    let petoPeto: LogRankTest
    /// Pairs in the order (0, 1), (0, 2), ..., (1, 2), ...; empty without `pairs`.
    let pairs: [LogRankTest]

    /// - Throws: `SurvivalError.singularVariance` for the first test (in the order above) whose
    ///   variance cannot be inverted, as the tests one after the other would.
    static func compute(
        time: [Double], event: [Bool], group: [Int32], groupCount k: Int, pairs withPairs: Bool
    ) throws(SurvivalError) -> LogRankFamily {
        let pairCount = withPairs ? k * (k - 1) / 2 : 0
        // risk, deaths, leaving; per rho: observed, expected, variance; per pair: 2 + 2 + 4.
        let perRho = 2 * k + k * k
        let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: 3 * k + 2 * perRho + 8 * pairCount)
        scratch.initialize(repeating: 0)
        defer { scratch.deallocate() }
        let base = scratch.baseAddress!
        let risk = base, deathsByGroup = base + k, leaving = base + 2 * k
        let sums = base + 3 * k  // rho r at sums + r * perRho: observed, expected, variance
        let pairSums = sums + 2 * perRho  // pair q at pairSums + 8 q: observed[2], expected[2], variance[4]
        var pairGroups: [(Int, Int)] = []
        if withPairs {
            for a in 0..<k { for b in (a + 1)..<k { pairGroups.append((a, b)) } }
        }
        var km = 1.0  // pooled Kaplan-Meier just before the current time
        pairGroups.withUnsafeBufferPointer { pairGroups in
            LogRankTest.forEachDeathTime(
                time: time, event: event, group: group, groupCount: k, risk: risk, deathsByGroup: deathsByGroup,
                leaving: leaving
            ) { deaths, nRisk in
                // pow(km, 1) is km itself (glibc's pow is within 0.52 ulp).
                LogRankTest.accumulate(
                    sums, k: k, weight: 1.0, deaths: deaths, nRisk: nRisk, deathsByGroup: deathsByGroup, risk: risk)
                LogRankTest.accumulate(
                    sums + perRho, k: k, weight: km, deaths: deaths, nRisk: nRisk, deathsByGroup: deathsByGroup,
                    risk: risk)
                km *= (nRisk - deaths) / nRisk
                for q in 0..<pairGroups.count {
                    let (a, b) = pairGroups[q]
                    let pairDeaths = deathsByGroup[a] + deathsByGroup[b]
                    if pairDeaths > 0 {
                        accumulatePair(
                            pairSums + 8 * q, deaths: pairDeaths, deathsA: deathsByGroup[a],
                            deathsB: deathsByGroup[b], riskA: risk[a], riskB: risk[b])
                    }
                }
            }
        }
        let logRank = try LogRankTest.finish(
            observed: sums, expected: sums + k, variance: sums + 2 * k, groupCount: k)
        let petoPeto = try LogRankTest.finish(
            observed: sums + perRho, expected: sums + perRho + k, variance: sums + perRho + 2 * k, groupCount: k)
        var pairs: [LogRankTest] = []
        for q in 0..<pairCount {
            let s = pairSums + 8 * q
            pairs.append(try LogRankTest.finish(observed: s, expected: s + 2, variance: s + 4, groupCount: 2))
        }
        return LogRankFamily(logRank: logRank, petoPeto: petoPeto, pairs: pairs)
    }

    /// The same terms for a pair's own test (two groups, weight 1), at a time with deaths in it.
    @inline(__always)
    private static func accumulatePair(
        _ s: UnsafeMutablePointer<Double>, deaths: Double, deathsA: Double, deathsB: Double, riskA: Double,
        riskB: Double
    ) {
        let nRisk = riskA + riskB
        let wt = 1.0
        s[0] += deathsA * wt
        s[1] += deathsB * wt
        s[2] += wt * deaths * riskA / nRisk
        s[3] += wt * deaths * riskB / nRisk
        if nRisk > 1 {
            let kt = wt * wt * deaths * (nRisk - deaths) / (nRisk * (nRisk - 1))
            let tmpA = kt * riskA
            s[4] += tmpA
            s[4] -= tmpA * riskA / nRisk
            s[5] -= tmpA * riskB / nRisk
            let tmpB = kt * riskB
            s[7] += tmpB
            s[6] -= tmpB * riskA / nRisk
            s[7] -= tmpB * riskB / nRisk
        }
    }
}
