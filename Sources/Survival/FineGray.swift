#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fitted Fine-Gray subdistribution-hazard model for one cause.
public struct FineGrayFit: Sendable, Equatable {
    public let terms: [String]
    public let coefficients: [Double]
    /// Sandwich variance-covariance matrix, row-major p x p (R: `crr(...)$var`).
    public let variance: [Double]
    /// Newton iterations used.
    public let iterations: Int
    public let n: Int
    public let events: Int

    public var standardErrors: [Double] {
        (0..<terms.count).map { variance[$0 * terms.count + $0].squareRoot() }
    }
}

/// Fine & Gray's proportional subdistribution-hazards regression (JASA 1999;94:496-509), as
/// `cmprsk::crr` 2.2-11 fits it (one censoring group, no time-varying terms).
///
/// Source: cmprsk `crr` (R) with Fortran `crrfsv`, `crrf`, `crrvv`. The likelihood is a Breslow
/// partial likelihood in which a subject with an earlier competing event stays in the risk set at
/// time t with weight G(t-) / G(t_i-), G the Kaplan-Meier of the censoring distribution evaluated
/// as crr does (at t (1 - 100 eps)). Newton-Raphson from beta = 0 with crr's rules: converged when
/// max |U| max(|beta|, 1) < max(|l|, 1) 1e-6, at most 10 iterations, backtracking (halving while
/// l(new) > l + 1e-4 step'U, at most 20 halvings). The variance is the sandwich
/// I^-1 (sum eta_i eta_i') I^-1 of `crrvv`, eta_i = score residual + the censoring term psi_i.
///
/// cmprsk computes the risk-set sums and the variance with nested loops over subjects
/// (O(n^2) per evaluation, O(n^2) to O(n^3) for the variance). Every sum here is a prefix or
/// suffix sum over the time-sorted subjects, so an evaluation and the variance are O(n p^2).
public enum FineGrayModel {
    public static let maxIterations = 10
    public static let gradientTolerance = 1e-6

    /// Fits the model for one cause.
    ///
    /// - Parameters:
    ///   - time: exit times (finite, >= 0).
    ///   - code: 0 = censored, else a cause number.
    ///   - cause: the cause of interest.
    ///   - columns: design matrix by column; terms: a name per column.
    /// - Throws: `.noEvents` (no event of the cause), `.covariateHasNoVariation`,
    ///   `.collinearCovariates`, `.fineGrayDidNotConverge`.
    static func fit(
        time: [Double], code: [Int32], cause: Int32, causeName: String, columns: [[Double]], terms: [String]
    ) throws(SurvivalError) -> FineGrayFit {
        let n = time.count
        let p = columns.count
        if p == 0 { throw .invalidOption("a Fine-Gray model needs at least one covariate") }
        for (j, column) in columns.enumerated() {
            if column.count != n { throw .lengthMismatch(column: terms[j], expected: n, actual: column.count) }
            for v in column where !v.isFinite {
                throw .invalidOption("Fine-Gray covariate '\(terms[j])' has a missing or non-finite value")
            }
            if let first = column.first, column.allSatisfy({ $0 == first }) {
                throw .covariateHasNoVariation(term: terms[j])
            }
        }
        let (order, sortedTime) = sortTimes(time)
        var status = [Int8](repeating: 0, count: n)  // 1 cause, 2 other, 0 censored
        var events = 0
        for k in 0..<n {
            let c = code[Int(order[k])]
            status[k] = c == cause ? 1 : (c == 0 ? 0 : 2)
            if c == cause { events += 1 }
        }
        if events == 0 { throw .noEvents }
        let problem = FineGrayProblem(time: sortedTime, status: status, order: order, columns: columns)

        var beta = [Double](repeating: 0, count: p)
        var converged = false
        var iterations = 0
        for iteration in 0...maxIterations {
            iterations = iteration
            let state = problem.evaluate(beta, derivatives: true)
            var maxScore = 0.0
            for j in 0..<p { maxScore = max(maxScore, abs(state.score[j]) * max(abs(beta[j]), 1)) }
            if maxScore < max(abs(state.loglik), 1) * gradientTolerance {
                converged = true
                break
            }
            if iteration == maxIterations { break }
            guard let chol = Cholesky(state.information, size: p) else { throw .collinearCovariates }
            var step = chol.solve(state.score).map { -$0 }
            var slope = 0.0
            for j in 0..<p { slope += step[j] * state.score[j] }
            var candidate = (0..<p).map { beta[$0] + step[$0] }
            var value = problem.evaluate(candidate, derivatives: false).loglik
            var halvings = 0
            while value.isNaN || value > state.loglik + 1e-4 * slope {
                halvings += 1
                for j in 0..<p { step[j] *= 0.5 }
                candidate = (0..<p).map { beta[$0] + step[$0] }
                value = problem.evaluate(candidate, derivatives: false).loglik
                if halvings > 20 { break }
            }
            if halvings > 20 { break }
            beta = candidate
        }
        if !converged { throw .fineGrayDidNotConverge(cause: causeName, iterations: iterations) }
        for b in beta where !b.isFinite { throw .fineGrayDidNotConverge(cause: causeName, iterations: iterations) }
        guard let variance = problem.sandwichVariance(beta) else { throw .collinearCovariates }
        for v in variance where !v.isFinite { throw .collinearCovariates }
        return FineGrayFit(
            terms: terms, coefficients: beta, variance: variance, iterations: iterations, n: n, events: events)
    }
}

/// Sorted data of one Fine-Gray fit and its (negative) log-likelihood, score and information.
struct FineGrayProblem {
    let n: Int
    let p: Int
    /// Times ascending.
    let time: [Double]
    /// 1 cause of interest, 2 other cause, 0 censored (sorted order).
    let status: [Int8]
    /// Centred covariates, row-major, sorted order (the likelihood is invariant to centring).
    let x: [Double]
    /// G(t_i-) per subject as crr evaluates it (censoring Kaplan-Meier at t_i (1 - 100 eps)).
    let weight: [Double]
    /// First sorted index of each distinct time with a failure of the cause, and its failure count.
    let failureStart: [Int]
    let failureCount: [Int]
    /// Number of subjects with time >= t_i (censoring risk set, one censoring group).
    let atRisk: [Int]

    init(time: [Double], status: [Int8], order: [Int32], columns: [[Double]]) {
        let n = time.count
        let p = columns.count
        self.n = n
        self.p = p
        self.time = time
        self.status = status
        var x = [Double](repeating: 0, count: n * p)
        for j in 0..<p {
            var mean = 0.0
            for v in columns[j] { mean += v }
            mean /= Double(n)
            for k in 0..<n { x[k * p + j] = columns[j][Int(order[k])] - mean }
        }
        self.x = x
        // Censoring Kaplan-Meier (R: survfit(Surv(ftime, cenind) ~ 1)), then crr's
        // approx(..., xout = ftime (1 - 100 eps), method = "constant", f = 0).
        var blockTime: [Double] = [], blockSurv: [Double] = []
        var atRisk = [Int](repeating: 0, count: n)
        var g = 1.0
        var i = 0
        while i < n {
            var j = i
            var censored = 0
            while j < n, time[j] == time[i] {
                if status[j] == 0 { censored += 1 }
                j += 1
            }
            let r = n - i
            for k in i..<j { atRisk[k] = r }
            g *= Double(r - censored) / Double(r)
            blockTime.append(time[i])
            blockSurv.append(g)
            i = j
        }
        self.atRisk = atRisk
        var weight = [Double](repeating: 1, count: n)
        var b = 0  // number of blocks with time <= threshold (monotone in i)
        for k in 0..<n {
            let threshold = time[k] * (1 - 100 * Double.ulpOfOne)
            while b < blockTime.count, blockTime[b] <= threshold { b += 1 }
            weight[k] = b == 0 ? 1 : blockSurv[b - 1]
        }
        self.weight = weight
        var starts: [Int] = [], counts: [Int] = []
        i = 0
        while i < n {
            var j = i
            var d = 0
            while j < n, time[j] == time[i] {
                if status[j] == 1 { d += 1 }
                j += 1
            }
            if d > 0 {
                starts.append(i)
                counts.append(d)
            }
            i = j
        }
        failureStart = starts
        failureCount = counts
    }

    struct State {
        /// Minus the log partial likelihood (crr minimises).
        var loglik: Double
        /// Gradient of minus the log-likelihood.
        var score: [Double]
        /// Information (Hessian of minus the log-likelihood), row-major.
        var information: [Double]
    }

    /// Risk-set sums S0, S1, S2 at each failure time.
    ///
    /// S_k(T) = sum over t_i >= T of r_i x_i^k + G(T-) * sum over earlier competing events of
    /// r_i x_i^k / G(t_i-): a suffix sum plus a weighted prefix sum, both one pass.
    func riskSums(_ beta: [Double], second: Bool) -> (s0: [Double], s1: [Double], s2: [Double], risk: [Double]) {
        let m = failureStart.count
        let pp = p * p
        var risk = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var e = 0.0
            for j in 0..<p { e += x[i * p + j] * beta[j] }
            risk[i] = exp(e)
        }
        var s0 = [Double](repeating: 0, count: m)
        var s1 = [Double](repeating: 0, count: m * p)
        var s2 = [Double](repeating: 0, count: second ? m * pp : 0)
        // Prefix: competing events strictly before each failure time, weighted by 1 / G(t_i-).
        var q0 = 0.0
        var q1 = [Double](repeating: 0, count: p)
        var q2 = [Double](repeating: 0, count: second ? pp : 0)
        var i = 0
        for f in 0..<m {
            let start = failureStart[f]
            while i < start {
                if status[i] == 2 {
                    let w = risk[i] / weight[i]
                    q0 += w
                    for j in 0..<p {
                        let wx = w * x[i * p + j]
                        q1[j] += wx
                        if second { for l in 0...j { q2[j * p + l] += wx * x[i * p + l] } }
                    }
                }
                i += 1
            }
            let g = weight[start]
            s0[f] = g * q0
            for j in 0..<p { s1[f * p + j] = g * q1[j] }
            if second { for k in 0..<pp { s2[f * pp + k] = g * q2[k] } }
        }
        // Suffix: everyone still in follow-up at the failure time.
        var r0 = 0.0
        var r1 = [Double](repeating: 0, count: p)
        var r2 = [Double](repeating: 0, count: second ? pp : 0)
        i = n - 1
        for f in stride(from: m - 1, through: 0, by: -1) {
            let start = failureStart[f]
            while i >= start {
                let w = risk[i]
                r0 += w
                for j in 0..<p {
                    let wx = w * x[i * p + j]
                    r1[j] += wx
                    if second { for l in 0...j { r2[j * p + l] += wx * x[i * p + l] } }
                }
                i -= 1
            }
            s0[f] += r0
            for j in 0..<p { s1[f * p + j] += r1[j] }
            if second { for k in 0..<pp { s2[f * pp + k] += r2[k] } }
        }
        return (s0, s1, s2, risk)
    }

    func evaluate(_ beta: [Double], derivatives: Bool) -> State {
        let (s0, s1, s2, _) = riskSums(beta, second: derivatives)
        let pp = p * p
        var loglik = 0.0
        var score = [Double](repeating: 0, count: p)
        var info = [Double](repeating: 0, count: derivatives ? pp : 0)
        var xbar = [Double](repeating: 0, count: p)
        for f in 0..<failureStart.count {
            let d = Double(failureCount[f])
            let start = failureStart[f]
            var k = start
            while k < n, time[k] == time[start] {
                if status[k] == 1 {
                    var e = 0.0
                    for j in 0..<p {
                        e += x[k * p + j] * beta[j]
                        score[j] -= x[k * p + j]
                    }
                    loglik -= e
                }
                k += 1
            }
            loglik += d * log(s0[f])
            for j in 0..<p {
                xbar[j] = s1[f * p + j] / s0[f]
                score[j] += d * xbar[j]
            }
            if derivatives {
                for j in 0..<p {
                    for l in 0...j { info[j * p + l] += d * (s2[f * pp + j * p + l] / s0[f] - xbar[j] * xbar[l]) }
                }
            }
        }
        if derivatives {
            for j in 0..<p { for l in 0..<j { info[l * p + j] = info[j * p + l] } }
        }
        return State(loglik: loglik, score: score, information: info)
    }

    /// crr's sandwich variance I^-1 (sum eta eta') I^-1 (Fortran `crrvv`), with prefix and
    /// suffix sums in place of crrvv's nested loops.
    func sandwichVariance(_ beta: [Double]) -> [Double]? {
        let (s0, s1, _, risk) = riskSums(beta, second: false)
        let info = evaluate(beta, derivatives: true).information
        guard let chol = Cholesky(info, size: p) else { return nil }
        let m = failureStart.count
        // Per failure time: a = d / S0, b = d xbar / S0, and G(T-) at the time.
        var a = [Double](repeating: 0, count: m)
        var bb = [Double](repeating: 0, count: m * p)
        var xbar = [Double](repeating: 0, count: m * p)
        var gT = [Double](repeating: 0, count: m)
        for f in 0..<m {
            let d = Double(failureCount[f])
            a[f] = d / s0[f]
            gT[f] = weight[failureStart[f]]
            for j in 0..<p {
                xbar[f * p + j] = s1[f * p + j] / s0[f]
                bb[f * p + j] = d * xbar[f * p + j] / s0[f]
            }
        }
        // Suffix sums over failure times T >= index: sum G a, sum G b (for competing events and q(u)).
        var sufGA = [Double](repeating: 0, count: m + 1)
        var sufGB = [Double](repeating: 0, count: (m + 1) * p)
        for f in stride(from: m - 1, through: 0, by: -1) {
            sufGA[f] = sufGA[f + 1] + gT[f] * a[f]
            for j in 0..<p { sufGB[f * p + j] = sufGB[(f + 1) * p + j] + gT[f] * bb[f * p + j] }
        }
        var eta = [Double](repeating: 0, count: p)
        var v2 = [Double](repeating: 0, count: p * p)
        // Running state over time blocks.
        var preA = 0.0  // sum of a over failure times <= current time
        var preB = [Double](repeating: 0, count: p)
        var nextFailure = 0  // index of the first failure time > current time after the update
        var compA0 = 0.0  // sum over competing events before the current time of r / G(t-)
        var compA1 = [Double](repeating: 0, count: p)
        var psiSum = [Double](repeating: 0, count: p)  // ss2: - sum q(u) dNc(u) / R(u)^2
        var q = [Double](repeating: 0, count: p)
        var i = 0
        while i < n {
            let t = time[i]
            var j = i
            var censored = 0
            while j < n, time[j] == t {
                if status[j] == 0 { censored += 1 }
                j += 1
            }
            // Failure times <= t.
            let firstLater = nextFailure
            var thisFailure = -1
            if nextFailure < m, time[failureStart[nextFailure]] == t {
                thisFailure = nextFailure
                preA += a[nextFailure]
                for k in 0..<p { preB[k] += bb[nextFailure * p + k] }
                nextFailure += 1
            }
            _ = firstLater
            // q(t) = A1(t) sum_{T >= t} G a - A0(t) sum_{T >= t} G b, with A over competing events before t.
            let fromT = thisFailure >= 0 ? thisFailure : nextFailure
            if censored > 0 {
                let r = Double(atRisk[i])
                for k in 0..<p {
                    q[k] = compA1[k] * sufGA[fromT] - compA0 * sufGB[fromT * p + k]
                    psiSum[k] -= q[k] * Double(censored) / (r * r)
                }
            }
            let after = nextFailure  // first failure time > t
            for s in i..<j {
                let ri = risk[s]
                for k in 0..<p {
                    let xi = x[s * p + k]
                    var e = -ri * (xi * preA - preB[k])
                    if status[s] == 2 {
                        e -= ri / weight[s] * (xi * sufGA[after] - sufGB[after * p + k])
                    }
                    if status[s] == 1 { e += xi - xbar[thisFailure * p + k] }
                    e += psiSum[k]
                    if status[s] == 0 { e += q[k] / Double(atRisk[s]) }
                    eta[k] = e
                }
                for k in 0..<p { for l in 0...k { v2[k * p + l] += eta[k] * eta[l] } }
            }
            // Competing events at t join the prefix for later times.
            for s in i..<j where status[s] == 2 {
                let w = risk[s] / weight[s]
                compA0 += w
                for k in 0..<p { compA1[k] += w * x[s * p + k] }
            }
            i = j
        }
        for k in 0..<p { for l in 0..<k { v2[l * p + k] = v2[k * p + l] } }
        // I^-1 V2 I^-1.
        let inv = chol.inverse()
        var tmp = [Double](repeating: 0, count: p * p)
        for r in 0..<p {
            for c in 0..<p {
                var s = 0.0
                for k in 0..<p { s += inv[r * p + k] * v2[k * p + c] }
                tmp[r * p + c] = s
            }
        }
        var out = [Double](repeating: 0, count: p * p)
        for r in 0..<p {
            for c in 0..<p {
                var s = 0.0
                for k in 0..<p { s += tmp[r * p + k] * inv[k * p + c] }
                out[r * p + c] = s
            }
        }
        return out
    }
}
