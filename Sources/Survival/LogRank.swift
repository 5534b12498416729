#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The G-rho family of k-sample tests for right-censored data (R: `survdiff`).
///
/// rho = 0 is the log-rank test, rho = 1 the Peto-Peto (Peto & Peto / Prentice) modification of
/// the Gehan-Wilcoxon test. Source: R survival 3.5 `survdiff`, `survdiff.fit` and C `survdiff2`:
/// at each event time the weight is S(t-)^rho with S the pooled Kaplan-Meier curve; observed and
/// expected counts are weighted sums, and the variance is the weighted hypergeometric
/// w^2 d (N - d) / (N (N - 1)) [n_j delta_jk - n_j n_k / N]. The statistic uses the groups
/// with expected > 0, dropping the first of them: chisq = (O - E)' V^-1 (O - E) with
/// (number of such groups - 1) degrees of freedom.
public struct LogRankTest: Sendable, Equatable {
    public let chisq: Double
    public let df: Int
    /// nil when the test has no degrees of freedom (fewer than two groups with expected > 0).
    public let pValue: Double?
    /// Weighted observed events per group, in group order.
    public let observed: [Double]
    /// Weighted expected events per group, in group order.
    public let expected: [Double]

    /// Runs the test.
    ///
    /// - Parameters:
    ///   - time: follow-up times, finite and >= 0.
    ///   - event: true for an event.
    ///   - group: group index per subject, in 0..<groupCount.
    ///   - groupCount: number of groups (at least 2).
    ///   - rho: weight exponent (0 log-rank, 1 Peto-Peto).
    public static func test(
        time: [Double], event: [Bool], group: [Int], groupCount: Int, rho: Double = 0
    ) throws(SurvivalError) -> LogRankTest {
        try validateSurvivalColumns(time: time, event: event, entry: nil)
        if group.count != time.count {
            throw .lengthMismatch(column: "group", expected: time.count, actual: group.count)
        }
        if time.isEmpty { throw .noSubjects }
        if groupCount < 2 { throw .invalidOption("a test between groups needs at least two groups") }
        for g in group where g < 0 || g >= groupCount {
            throw .invalidOption("group index out of range")
        }
        if !(rho >= 0 && rho.isFinite) { throw .invalidOption("rho must be a finite number >= 0") }
        let (order, sortedTime) = sortTimes(time)
        return try compute(
            time: sortedTime, event: order.map { event[Int($0)] }, group: order.map { Int32(group[Int($0)]) },
            groupCount: groupCount, rho: rho)
    }

    /// The test on subjects sorted by ascending time.
    static func compute(
        time: [Double], event: [Bool], group: [Int32], groupCount k: Int, rho: Double
    ) throws(SurvivalError) -> LogRankTest {
        // The running sums live in one scratch block: the loop runs once per distinct time
        // (a million at the benchmark's size), and arrays mutated there cost a uniqueness and
        // bounds check on every access. Risk, deaths, leaving; observed, expected, variance.
        let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: 5 * k + k * k)
        scratch.initialize(repeating: 0)
        defer { scratch.deallocate() }
        let base = scratch.baseAddress!
        let risk = base, deathsByGroup = base + k, leaving = base + 2 * k, sums = base + 3 * k
        var km = 1.0  // pooled Kaplan-Meier just before the current time
        forEachDeathTime(
            time: time, event: event, group: group, groupCount: k, risk: risk, deathsByGroup: deathsByGroup,
            leaving: leaving
        ) { deaths, nRisk in
            let wt = rho == 0 ? 1.0 : pow(km, rho)
            accumulate(sums, k: k, weight: wt, deaths: deaths, nRisk: nRisk, deathsByGroup: deathsByGroup, risk: risk)
            km *= (nRisk - deaths) / nRisk
        }
        return try finish(observed: sums, expected: sums + k, variance: sums + 2 * k, groupCount: k)
    }

    /// The pass over subjects sorted by time that every test of the family makes: `risk` starts
    /// as the group sizes; at each distinct time the deaths per group are put in
    /// `deathsByGroup`, and when there are any `atDeathTime` gets their total and the number at
    /// risk (with `risk` still the counts at risk per group); then the time's subjects leave
    /// `risk`.
    @inline(__always)
    static func forEachDeathTime(
        time: [Double], event: [Bool], group: [Int32], groupCount k: Int, risk: UnsafeMutablePointer<Double>,
        deathsByGroup: UnsafeMutablePointer<Double>, leaving: UnsafeMutablePointer<Double>,
        _ atDeathTime: (_ deaths: Double, _ nRisk: Double) -> Void
    ) {
        let n = time.count
        for g in group { risk[Int(g)] += 1 }
        time.withUnsafeBufferPointer { time in
            event.withUnsafeBufferPointer { event in
                group.withUnsafeBufferPointer { group in
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
                        if deaths > 0 { atDeathTime(deaths, Double(n - i)) }
                        for g in 0..<k { risk[g] -= leaving[g] }
                        i = j
                    }
                }
            }
        }
    }

    /// One distinct time's terms, with weight S(t-)^rho: into `sums` (observed, expected, then
    /// the k x k variance).
    @inline(__always)
    static func accumulate(
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

    /// The test from its weighted observed and expected counts and variance matrix (k x k).
    static func finish(
        observed observedSums: UnsafePointer<Double>, expected expectedSums: UnsafePointer<Double>,
        variance: UnsafePointer<Double>, groupCount k: Int
    ) throws(SurvivalError) -> LogRankTest {
        let observed = Array(UnsafeBufferPointer(start: observedSums, count: k))
        let expected = Array(UnsafeBufferPointer(start: expectedSums, count: k))
        let used = (0..<k).filter { expected[$0] > 0 }
        let df = used.count - 1
        var chisq = 0.0
        if used.count >= 2 {
            let idx = Array(used.dropFirst())
            let m = idx.count
            var matrix = [Double](repeating: 0, count: m * m)
            var rhs = [Double](repeating: 0, count: m)
            for a in 0..<m {
                rhs[a] = observed[idx[a]] - expected[idx[a]]
                for b in 0..<m { matrix[a * m + b] = variance[idx[a] * k + idx[b]] }
            }
            guard let solution = solveLinearSystem(matrix, rhs, size: m) else { throw .singularVariance }
            for a in 0..<m { chisq += solution[a] * rhs[a] }
        }
        let p: Double? = df >= 1 ? finite(Distributions.chiSquareUpperTail(chisq, df: Double(df))) : nil
        return LogRankTest(chisq: chisq, df: max(df, 0), pValue: p, observed: observed, expected: expected)
    }
}

/// Holm's step-down adjustment (R: `p.adjust(p, method = "holm")`):
/// sorted ascending, p_(i) * (m - i + 1), made monotone by a running maximum, capped at 1.
/// nil p-values are left out of m and stay nil.
public func holmAdjust(_ p: [Double?]) -> [Double?] {
    let present = p.indices.filter { p[$0] != nil }
    let m = present.count
    let order = present.sorted { a, b in
        let pa = p[a]!, pb = p[b]!
        return pa < pb || (pa == pb && a < b)
    }
    var adjusted = [Double?](repeating: nil, count: p.count)
    var running = 0.0
    for (rank, index) in order.enumerated() {
        running = max(running, Double(m - rank) * p[index]!)
        adjusted[index] = min(1, running)
    }
    return adjusted
}

/// Solves A x = b for a small dense matrix (row-major) by Gaussian elimination with partial
/// pivoting (as LAPACK `dgesv`, which R's `solve` calls). nil when the matrix is singular.
func solveLinearSystem(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
    var m = a
    var x = b
    var scale = 0.0
    for v in a { scale = max(scale, abs(v)) }
    if scale == 0 { return nil }
    for col in 0..<n {
        var pivot = col
        for r in (col + 1)..<max(n, col + 1) where abs(m[r * n + col]) > abs(m[pivot * n + col]) {
            pivot = r
        }
        if abs(m[pivot * n + col]) <= scale * 1e-14 { return nil }
        if pivot != col {
            for c in 0..<n { m.swapAt(col * n + c, pivot * n + c) }
            x.swapAt(col, pivot)
        }
        let d = m[col * n + col]
        for r in (col + 1)..<max(n, col + 1) {
            let f = m[r * n + col] / d
            if f == 0 { continue }
            for c in col..<n { m[r * n + c] -= f * m[col * n + c] }
            x[r] -= f * x[col]
        }
    }
    for col in stride(from: n - 1, through: 0, by: -1) {
        var s = x[col]
        for c in (col + 1)..<max(n, col + 1) { s -= m[col * n + c] * x[c] }
        x[col] = s / m[col * n + col]
    }
    return x
}
