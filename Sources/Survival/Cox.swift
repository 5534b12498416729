#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fitted Cox proportional-hazards model (Efron ties).
public struct CoxFit: Sendable, Equatable {
    /// Term names, one per design column (e.g. `age`, `sexmale`).
    public let terms: [String]
    public let coefficients: [Double]
    /// Variance-covariance matrix of the coefficients, row-major p x p (inverse information).
    public let variance: [Double]
    /// Partial log-likelihood at beta = 0 and at the estimate (R: `fit$loglik`).
    public let loglikNull: Double
    public let loglikFitted: Double
    /// Score (log-rank) test statistic at beta = 0 (R: `fit$score`).
    public let scoreStatistic: Double
    /// Newton-Raphson iterations used (R: `fit$iter`).
    public let iterations: Int
    public let n: Int
    public let events: Int

    public var standardErrors: [Double] {
        (0..<terms.count).map { variance[$0 * terms.count + $0].squareRoot() }
    }

    /// Wald statistic beta' V^-1 beta (R: `coxph.wtest`).
    public var waldStatistic: Double {
        let p = terms.count
        guard let x = solveLinearSystem(variance, coefficients, size: p) else { return .nan }
        var s = 0.0
        for i in 0..<p { s += x[i] * coefficients[i] }
        return s
    }

    /// Likelihood-ratio statistic 2 (l(beta) - l(0)).
    public var likelihoodRatioStatistic: Double { 2 * (loglikFitted - loglikNull) }
}

/// Cox proportional-hazards regression with Efron's tie correction.
///
/// Source: R survival 3.5 `coxph` / `coxph.fit` with C `coxfit6` (right-censored) and `agfit4`
/// (counting process, for delayed entry), `coxph.control()` defaults: start at beta = 0,
/// Newton-Raphson with step halving when the log-likelihood decreases, converged when
/// |1 - l_old / l_new| <= 1e-9 (and not halving), at most 20 iterations. The score test is
/// U(0)' I(0)^-1 U(0) from the first step; the variance is the inverse information at the
/// estimate; a coefficient is declared infinite as in `coxph.fit`
/// (|U' V| > 1e-9 and > sqrt(1e-9) |beta|).
///
/// With delayed entry a subject is in the risk set at t when entry < t <= exit. Each iteration is
/// O(n p^2): cumulative sums over subjects sorted once by exit (and entry) time.
public enum CoxModel {
    public static let maxIterations = 20
    public static let convergenceEpsilon = 1e-9

    /// Fits the model.
    ///
    /// - Parameters:
    ///   - time: exit times, finite and >= 0.
    ///   - event: true for an event.
    ///   - entry: optional delayed-entry times (< exit).
    ///   - columns: design matrix by column (one array of n values per term).
    ///   - terms: a name per column, used in errors and output.
    /// - Throws: `SurvivalError.noEvents`, `.covariateHasNoVariation`, `.collinearCovariates`,
    ///   `.infiniteCoefficient`, `.coxDidNotConverge`, input validation errors.
    public static func fit(
        time: [Double], event: [Bool], entry: [Double]? = nil, columns: [[Double]], terms: [String]
    ) throws(SurvivalError) -> CoxFit {
        try validateSurvivalColumns(time: time, event: event, entry: entry)
        let n = time.count
        if n == 0 { throw .noSubjects }
        return try fitSorted(SortedSubjects(time: time, event: event, entry: entry), columns: columns, terms: terms)
    }

    /// Fits a stratified model, R's `coxph(Surv(..) ~ x + strata(s))`: one baseline hazard per
    /// stratum, shared coefficients (the partial likelihood is the product over strata).
    ///
    /// - Parameters:
    ///   - strata: a stratum label per subject (nil = one stratum).
    ///   - strataName: the strata column's name, for errors.
    /// - Throws: as `fit`, and `SurvivalError.strataHaveOneLevel` when every subject is in the
    ///   same stratum.
    public static func fit(
        time: [Double], event: [Bool], entry: [Double]? = nil, columns: [[Double]], terms: [String],
        strata: [String], strataName: String
    ) throws(SurvivalError) -> CoxFit {
        try validateSurvivalColumns(time: time, event: event, entry: entry)
        let n = time.count
        if n == 0 { throw .noSubjects }
        let index = try strataIndices(strata, name: strataName, count: n)
        return try fitSorted(
            SortedSubjects(time: time, event: event, entry: entry), columns: columns, terms: terms, strata: index)
    }

    /// Stratum index per subject (levels in code-point order), refusing a single level.
    static func strataIndices(_ strata: [String], name: String, count n: Int) throws(SurvivalError) -> [Int32] {
        if strata.count != n { throw .lengthMismatch(column: name, expected: n, actual: strata.count) }
        let levels = Array(Set(strata)).sorted()
        if levels.count < 2 { throw .strataHaveOneLevel(name: name) }
        var lookup: [String: Int32] = [:]
        for (i, level) in levels.enumerated() { lookup[level] = Int32(i) }
        return strata.map { lookup[$0]! }
    }

    /// The fit on subjects already validated and sorted (checks the design itself).
    ///
    /// - Parameter strata: stratum index per subject (0-based, in input order), nil = unstratified.
    static func fitSorted(
        _ subjects: SortedSubjects, columns: [[Double]], terms: [String], strata: [Int32]? = nil
    ) throws(SurvivalError) -> CoxFit {
        let n = subjects.time.count
        let p = columns.count
        if terms.count != p { throw .invalidOption("one term name per design column is required") }
        if p == 0 { throw .invalidOption("a Cox model needs at least one covariate") }
        for (j, column) in columns.enumerated() {
            if column.count != n { throw .lengthMismatch(column: terms[j], expected: n, actual: column.count) }
            for v in column where !v.isFinite {
                throw .invalidOption("Cox covariate '\(terms[j])' has a missing or non-finite value")
            }
        }
        let events = subjects.event.reduce(0) { $0 + ($1 ? 1 : 0) }
        if events == 0 { throw .noEvents }
        for (j, column) in columns.enumerated() {
            let first = column[0]
            if column.allSatisfy({ $0 == first }) { throw .covariateHasNoVariation(term: terms[j]) }
        }
        let problem = CoxLikelihood(subjects, columns: columns, strata: strata)
        // Newton-Raphson, step for step as coxfit6 / agfit4.
        var beta = [Double](repeating: 0, count: p)
        var state = problem.evaluate(beta)
        let loglikNull = state.loglik
        guard let chol0 = Cholesky(state.imat, size: p) else { throw .collinearCovariates }
        let step0 = chol0.solve(state.u)
        var score = 0.0
        for i in 0..<p { score += state.u[i] * step0[i] }
        var newBeta = (0..<p).map { beta[$0] + step0[$0] }
        var loglik = loglikNull
        var halving = false
        var converged = false
        var iterations = 0
        var finalChol: Cholesky? = nil
        for iter in 1...maxIterations {
            iterations = iter
            state = problem.evaluate(newBeta)
            let newLoglik = state.loglik
            let chol = Cholesky(state.imat, size: p)
            if newLoglik.isFinite, abs(1 - loglik / newLoglik) <= convergenceEpsilon, !halving {
                loglik = newLoglik
                finalChol = chol
                converged = true
                break
            }
            if iter == maxIterations { break }
            if !newLoglik.isFinite || newLoglik < loglik {
                halving = true
                for i in 0..<p { newBeta[i] = (newBeta[i] + beta[i]) / 2 }
            } else {
                halving = false
                loglik = newLoglik
                guard let chol else { throw .collinearCovariates }
                let step = chol.solve(state.u)
                beta = newBeta
                for i in 0..<p { newBeta[i] = beta[i] + step[i] }
            }
        }
        if !converged { throw .coxDidNotConverge(iterations: iterations) }
        guard let finalChol else { throw .collinearCovariates }
        let variance = finalChol.inverse()
        // coxph.fit: infs <- abs(u %*% var); flagged if > eps and > toler.inf * |coef|.
        let tolerInf = convergenceEpsilon.squareRoot()
        for j in 0..<p {
            var s = 0.0
            for i in 0..<p { s += state.u[i] * variance[i * p + j] }
            let infs = abs(s)
            if !state.u[j].isFinite || !newBeta[j].isFinite
                || (infs > convergenceEpsilon && infs > tolerInf * abs(newBeta[j]))
            {
                throw .infiniteCoefficient(term: terms[j])
            }
        }
        for v in variance where !v.isFinite { throw .collinearCovariates }
        return CoxFit(
            terms: terms, coefficients: newBeta, variance: variance, loglikNull: loglikNull,
            loglikFitted: loglik, scoreStatistic: score, iterations: iterations, n: n, events: events)
    }
}

/// Sorted data and the Efron log-likelihood with its first and second derivatives.
struct CoxProblem {
    let n: Int
    let p: Int
    /// Exit times, ascending.
    let time: [Double]
    let event: [Bool]
    /// Centred covariates, row-major, same order as `time`.
    let x: [Double]
    /// Entry times ascending (nil without delayed entry) and the sorted position of each.
    let entry: [Double]?
    let entryPosition: [Int32]

    struct State {
        var loglik: Double
        var u: [Double]
        /// Information matrix (minus the Hessian), row-major, full.
        var imat: [Double]
    }

    /// Log partial likelihood, score and information at beta (Efron ties; unit weights).
    ///
    /// Walks exit times from the largest down, adding subjects to the risk-set sums as their exit
    /// time is reached and (with delayed entry) removing them once the current time is <= their
    /// entry. At a time with d deaths, Efron's approximation uses for k = 0..d-1 the denominator
    /// D - (k / d) D_deaths, and likewise for the first and second moments.
    func evaluate(_ beta: [Double]) -> State {
        let p = self.p
        let pp = p * p
        // One scratch block: u, imat, a, a2, cmat, cmat2, xbar, beta.
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 4 * pp + 5 * p)
        scratch.initialize(repeating: 0, count: 4 * pp + 5 * p)
        defer { scratch.deallocate() }
        let u = scratch, imat = u + p, a = imat + pp, a2 = a + p, cmat = a2 + p
        let cmat2 = cmat + pp, xbar = cmat2 + pp, b = xbar + p
        for j in 0..<p { b[j] = beta[j] }
        let risk = UnsafeMutablePointer<Double>.allocate(capacity: n)
        let eta = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer {
            risk.deallocate()
            eta.deallocate()
        }
        var loglik = 0.0
        let hasEntry = entry != nil
        // Pointers taken once: the loop below runs once per distinct time, and unwrapping the
        // optional entry array there retained and released it every time.
        (entry ?? []).withUnsafeBufferPointer { entry in
            entryPosition.withUnsafeBufferPointer { entryPosition in
                x.withUnsafeBufferPointer { xb in
                    time.withUnsafeBufferPointer { time in
                        event.withUnsafeBufferPointer { event in
                            let x = xb.baseAddress!
                            for i in 0..<n {
                                var e = 0.0
                                let row = x + i &* p
                                for j in 0..<p { e += row[j] * b[j] }
                                eta[i] = e
                                risk[i] = exp(e)
                            }
                            var denom = 0.0
                            var atRisk = 0
                            var i = n - 1
                            var e = n - 1
                            while i >= 0 {
                                let t = time[i]
                                var deaths = 0
                                var deathRisk = 0.0
                                for j in 0..<p { a2[j] = 0 }
                                for j in 0..<pp { cmat2[j] = 0 }
                                while i >= 0, time[i] == t {
                                    let r = risk[i]
                                    denom += r
                                    atRisk &+= 1
                                    let row = x + i &* p
                                    for j in 0..<p {
                                        let rx = r * row[j]
                                        a[j] += rx
                                        for k in 0...j { cmat[j &* p &+ k] += rx * row[k] }
                                    }
                                    if event[i] {
                                        deaths &+= 1
                                        deathRisk += r
                                        loglik += eta[i]
                                        for j in 0..<p {
                                            let xj = row[j]
                                            u[j] += xj
                                            let rx = r * xj
                                            a2[j] += rx
                                            for k in 0...j { cmat2[j &* p &+ k] += rx * row[k] }
                                        }
                                    }
                                    i &-= 1
                                }
                                if hasEntry {
                                    while e >= 0, entry[e] >= t {
                                        let s = Int(entryPosition[e])
                                        let r = risk[s]
                                        denom -= r
                                        atRisk &-= 1
                                        let row = x + s &* p
                                        for j in 0..<p {
                                            let rx = r * row[j]
                                            a[j] -= rx
                                            for k in 0...j { cmat[j &* p &+ k] -= rx * row[k] }
                                        }
                                        e &-= 1
                                    }
                                    if atRisk == 0 {
                                        // Start the next stretch from exact zeros instead of rounding residue.
                                        denom = 0
                                        for j in 0..<p { a[j] = 0 }
                                        for j in 0..<pp { cmat[j] = 0 }
                                    }
                                }
                                if deaths == 0 { continue }
                                let dd = Double(deaths)
                                for k in 0..<deaths {
                                    let frac = Double(k) / dd
                                    let d2 = denom - frac * deathRisk
                                    loglik -= log(d2)
                                    for j in 0..<p {
                                        xbar[j] = (a[j] - frac * a2[j]) / d2
                                        u[j] -= xbar[j]
                                    }
                                    for j in 0..<p {
                                        for l in 0...j {
                                            imat[j &* p &+ l] +=
                                                (cmat[j &* p &+ l] - frac * cmat2[j &* p &+ l]) / d2 - xbar[j] * xbar[l]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for j in 0..<p {
            for l in 0..<j { imat[l * p + j] = imat[j * p + l] }
        }
        return State(
            loglik: loglik, u: Array(UnsafeBufferPointer(start: u, count: p)),
            imat: Array(UnsafeBufferPointer(start: imat, count: pp)))
    }
}

/// Cholesky factorisation of a symmetric positive-definite matrix (row-major), with R's
/// `cholesky2` singularity rule: a pivot below toler.chol (= machine eps^0.75) times the largest
/// diagonal element means the matrix is singular (here: nil).
struct Cholesky {
    let size: Int
    /// Lower-triangular factor L, row-major, A = L L'.
    let l: [Double]

    init?(_ a: [Double], size n: Int) {
        self.size = n
        var maxDiag = 0.0
        for i in 0..<n { maxDiag = max(maxDiag, a[i * n + i]) }
        let eps = maxDiag * 1.8189894035458565e-12  // .Machine$double.eps^0.75
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var s = a[j * n + j]
            for k in 0..<j { s -= l[j * n + k] * l[j * n + k] }
            if !s.isFinite || s <= eps { return nil }
            let d = s.squareRoot()
            l[j * n + j] = d
            for i in (j + 1)..<max(n, j + 1) {
                var t = a[i * n + j]
                for k in 0..<j { t -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = t / d
            }
        }
        self.l = l
    }

    func solve(_ b: [Double]) -> [Double] {
        let n = size
        var y = b
        for i in 0..<n {
            var s = y[i]
            for k in 0..<i { s -= l[i * n + k] * y[k] }
            y[i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<max(n, i + 1) { s -= l[k * n + i] * y[k] }
            y[i] = s / l[i * n + i]
        }
        return y
    }

    func inverse() -> [Double] {
        let n = size
        var inv = [Double](repeating: 0, count: n * n)
        for c in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[c] = 1
            let col = solve(e)
            for r in 0..<n { inv[r * n + c] = col[r] }
        }
        // Symmetrise against rounding.
        for r in 0..<n {
            for c in 0..<r {
                let v = 0.5 * (inv[r * n + c] + inv[c * n + r])
                inv[r * n + c] = v
                inv[c * n + r] = v
            }
        }
        return inv
    }
}
