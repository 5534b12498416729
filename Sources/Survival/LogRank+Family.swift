/// The tests a survival report shows, from one pass over the sorted subjects: the log-rank test
/// (rho = 0), the Peto-Peto test (rho = 1) and, with `pairs`, the log-rank test of every pair of
/// groups (a < b, in that order) on that pair's subjects only.
///
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
        let n = time.count
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
        for g in group { risk[Int(g)] += 1 }
        var km = 1.0  // pooled Kaplan-Meier just before the current time
        time.withUnsafeBufferPointer { time in
            event.withUnsafeBufferPointer { event in
                group.withUnsafeBufferPointer { group in
                    pairGroups.withUnsafeBufferPointer { pairGroups in
                        var i = 0
                        while i < n {
                            let t = time[i]
                            var deaths = 0.0
                            var j = i
                            for g in 0..<k { deathsByGroup[g] = 0; leaving[g] = 0 }
                            while j < n, time[j] == t {
                                let g = Int(group[j])
                                leaving[g] += 1
                                if event[j] {
                                    deathsByGroup[g] += 1
                                    deaths += 1
                                }
                                j += 1
                            }
                            let nRisk = Double(n - i)
                            if deaths > 0 {
                                // pow(km, 1) is km itself (glibc's pow is within 0.52 ulp).
                                accumulate(
                                    sums, k: k, weight: 1.0, deaths: deaths, nRisk: nRisk,
                                    deathsByGroup: deathsByGroup, risk: risk)
                                accumulate(
                                    sums + perRho, k: k, weight: km, deaths: deaths, nRisk: nRisk,
                                    deathsByGroup: deathsByGroup, risk: risk)
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
                            for g in 0..<k { risk[g] -= leaving[g] }
                            i = j
                        }
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

    /// One distinct time's terms of `LogRankTest.compute`, with weight S(t-)^rho.
    @inline(__always)
    private static func accumulate(
        _ sums: UnsafeMutablePointer<Double>, k: Int, weight wt: Double, deaths: Double, nRisk: Double,
        deathsByGroup: UnsafeMutablePointer<Double>, risk: UnsafeMutablePointer<Double>
    ) {
        let observedSums = sums, expectedSums = sums + k, variance = sums + 2 * k
        for g in 0..<k {
            observedSums[g] += deathsByGroup[g] * wt
            expectedSums[g] += wt * deaths * risk[g] / nRisk
        }
        if nRisk > 1 {
            let kt = wt * wt * deaths * (nRisk - deaths) / (nRisk * (nRisk - 1))
            for a in 0..<k {
                let tmp = kt * risk[a]
                variance[a * k + a] += tmp
                for b in 0..<k {
                    variance[a * k + b] -= tmp * risk[b] / nRisk
                }
            }
        }
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
