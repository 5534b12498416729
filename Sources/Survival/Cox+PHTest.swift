#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The test of proportional hazards of a Cox fit, R survival 3.5's `cox.zph(fit, transform = "km")`.
///
/// Source: survival 3.5 `cox.zph` with C `zph1` (right-censored) / `zph2` (counting process).
/// Survival 3.x no longer uses the old approximation from scaled Schoenfeld residuals; it
/// computes a score test for adding the terms x * g(t) to the model, one step from the fit:
/// with g(t) = 1 - S(t-) (the left-continuous Kaplan-Meier of all subjects, ignoring strata),
/// centred at its mean over the event times, U = sum over deaths of g(t) (x_i - xbar(t)) (Efron
/// means), and the information of (beta, gamma) at (beta-hat, 0),
/// I = [[V, G1], [G1, G2]] with V = sum c(t), G1 = sum g c(t), G2 = sum g^2 c(t), where c(t) is
/// the Efron covariance at t. A term's statistic is u' I_kk^-1 u over the fitted columns plus the
/// term's time-interaction columns (u = 0 on the former); the global test uses every column.
public struct ProportionalHazardsTest: Codable, Sendable, Equatable {
    /// The time transform; always "km".
    public var transform: String
    /// One row per covariate (a factor is one row with df = levels - 1).
    public var terms: [Row]
    public var global: Statistic

    /// A chi-square test; `chisq` and `pValue` are nil when the information matrix is singular.
    public struct Statistic: Codable, Sendable, Equatable {
        public var chisq: Double?
        public var df: Int
        public var pValue: Double?

        enum CodingKeys: String, CodingKey {
            case chisq, df
            case pValue = "p_value"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeNullable(chisq, forKey: .chisq)
            try c.encode(df, forKey: .df)
            try c.encodeNullable(pValue, forKey: .pValue)
        }
    }

    public struct Row: Codable, Sendable, Equatable {
        /// The covariate as named by the caller (not the dummy column names).
        public var covariate: String
        public var chisq: Double?
        public var df: Int
        public var pValue: Double?

        enum CodingKeys: String, CodingKey {
            case covariate, chisq, df
            case pValue = "p_value"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(covariate, forKey: .covariate)
            try c.encodeNullable(chisq, forKey: .chisq)
            try c.encode(df, forKey: .df)
            try c.encodeNullable(pValue, forKey: .pValue)
        }
    }
}

extension CoxModel {
    /// The proportional-hazards test of a fitted model (see `ProportionalHazardsTest`).
    ///
    /// - Parameters:
    ///   - fit: the fit of `CoxModel.fit` on the same subjects, columns and strata.
    ///   - covariates: each covariate's name and the range of its design columns (a factor spans
    ///     levels - 1 columns), in column order, covering every column once.
    ///   - strata: a stratum label per subject for a stratified fit (nil = unstratified).
    public static func proportionalHazardsTest(
        fit: CoxFit, time: [Double], event: [Bool], entry: [Double]? = nil, columns: [[Double]],
        covariates: [(name: String, columns: Range<Int>)], strata: [String]? = nil, strataName: String = "strata"
    ) throws(SurvivalError) -> ProportionalHazardsTest {
        try validateSurvivalColumns(time: time, event: event, entry: entry)
        let n = time.count
        if n == 0 { throw .noSubjects }
        let index = try strata.map { (s) throws(SurvivalError) in try strataIndices(s, name: strataName, count: n) }
        let subjects = SortedSubjects(time: time, event: event, entry: entry)
        return try phTestSorted(fit: fit, subjects, columns: columns, covariates: covariates, strata: index)
    }

    static func phTestSorted(
        fit: CoxFit, _ subjects: SortedSubjects, columns: [[Double]],
        covariates: [(name: String, columns: Range<Int>)], strata: [Int32]?
    ) throws(SurvivalError) -> ProportionalHazardsTest {
        let p = columns.count
        if fit.coefficients.count != p {
            throw .invalidOption("the PH test needs the fit of the same design columns")
        }
        var covered = 0
        for c in covariates {
            if c.columns.lowerBound != covered || c.columns.isEmpty {
                throw .invalidOption("PH test covariates must cover the design columns in order")
            }
            covered = c.columns.upperBound
        }
        if covered != p { throw .invalidOption("PH test covariates must cover the design columns in order") }

        // g(t) = 1 - S(t-) of all subjects, centred at its mean over the events (R: gtime).
        let km = KaplanMeierCurve.estimateSorted(
            time: subjects.time, event: subjects.event, sortedEntries: subjects.entry, keepCounts: false)
        let n = subjects.time.count
        var g = [Double](repeating: 0, count: n)  // by sorted position
        var k = 0  // KM rows with time < current time
        var sum = 0.0
        var events = 0
        for i in 0..<n {
            while k < km.time.count, km.time[k] < subjects.time[i] { k += 1 }
            g[i] = 1 - (k == 0 ? 1 : km.survival[k - 1])
            if subjects.event[i] {
                sum += g[i]
                events += 1
            }
        }
        let mean = sum / Double(events)
        for i in 0..<n { g[i] -= mean }
        // Per-subject g in input order, so that each stratum's part can pick its own.
        var gBySubject = [Double](repeating: 0, count: n)
        for i in 0..<n { gBySubject[Int(subjects.order[i])] = g[i] }

        let likelihood = CoxLikelihood(subjects, columns: columns, strata: strata)
        // Each part lists its subjects in the global exit-time order restricted to its stratum.
        var u = [Double](repeating: 0, count: p)
        let q = 2 * p
        var imat = [Double](repeating: 0, count: q * q)
        let partG = partTimeWeights(subjects: subjects, strata: strata, g: gBySubject, parts: likelihood.parts.count)
        for (index, part) in likelihood.parts.enumerated() {
            part.accumulatePHScore(fit.coefficients, g: partG[index], u: &u, imat: &imat)
        }

        func statistic(_ cols: [Int]) -> (Double?, Int) {
            // Rows: every fitted column, then the time interactions of `cols`.
            let rows = Array(0..<p) + cols.map { $0 + p }
            let m = rows.count
            var sub = [Double](repeating: 0, count: m * m)
            for (a, ra) in rows.enumerated() {
                for (b, rb) in rows.enumerated() { sub[a * m + b] = imat[ra * q + rb] }
            }
            var vector = [Double](repeating: 0, count: m)
            for (a, c) in cols.enumerated() { vector[p + a] = u[c] }
            guard let chol = Cholesky(sub, size: m) else { return (nil, cols.count) }
            let x = chol.solve(vector)
            var s = 0.0
            for a in 0..<m { s += x[a] * vector[a] }
            return (s.isFinite ? s : nil, cols.count)
        }
        let rows = covariates.map { c -> ProportionalHazardsTest.Row in
            let (chisq, df) = statistic(Array(c.columns))
            return ProportionalHazardsTest.Row(
                covariate: c.name, chisq: chisq, df: df,
                pValue: chisq.map { Distributions.chiSquareUpperTail($0, df: Double(df)) })
        }
        let (chisq, df) = statistic(Array(0..<p))
        return ProportionalHazardsTest(
            transform: "km", terms: rows,
            global: .init(chisq: chisq, df: df, pValue: chisq.map { Distributions.chiSquareUpperTail($0, df: Double(df)) }))
    }

    /// g by position within each part (the parts are built from the global exit-time order).
    static func partTimeWeights(subjects: SortedSubjects, strata: [Int32]?, g: [Double], parts: Int) -> [[Double]] {
        let n = subjects.time.count
        guard let strata else { return [subjects.order.map { g[Int($0)] }] }
        var out = [[Double]](repeating: [], count: Int((strata.max() ?? 0) + 1))
        for i in 0..<n {
            let s = Int(subjects.order[i])
            out[Int(strata[s])].append(g[s])
        }
        return out.filter { !$0.isEmpty }
    }
}

extension CoxProblem {
    /// Adds this stratum's share of the PH score test (R: C `zph1` / `zph2`, Efron): U for the
    /// time interactions x g(t), and the 2p x 2p information [[V, G1], [G1, G2]].
    ///
    /// - Parameter g: the centred time transform at each subject's exit time, in this part's order.
    func accumulatePHScore(_ beta: [Double], g: [Double], u: inout [Double], imat: inout [Double]) {
        let q = 2 * p
        var risk = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var e = 0.0
            for j in 0..<p { e += x[i * p + j] * beta[j] }
            risk[i] = exp(e)
        }
        var a = [Double](repeating: 0, count: p), a2 = a
        var cmat = [Double](repeating: 0, count: p * p), cmat2 = cmat
        var xbar = [Double](repeating: 0, count: p)
        var denom = 0.0
        var atRisk = 0
        var i = n - 1
        var e = n - 1
        while i >= 0 {
            let t = time[i]
            let gt = g[i]
            var deaths = 0
            var deathRisk = 0.0
            for j in 0..<p { a2[j] = 0 }
            for j in 0..<(p * p) { cmat2[j] = 0 }
            while i >= 0, time[i] == t {
                let r = risk[i]
                denom += r
                atRisk += 1
                for j in 0..<p {
                    let rx = r * x[i * p + j]
                    a[j] += rx
                    for l in 0...j { cmat[j * p + l] += rx * x[i * p + l] }
                }
                if event[i] {
                    deaths += 1
                    deathRisk += r
                    for j in 0..<p {
                        let xj = x[i * p + j]
                        u[j] += gt * xj
                        a2[j] += r * xj
                        for l in 0...j { cmat2[j * p + l] += r * xj * x[i * p + l] }
                    }
                }
                i -= 1
            }
            if let entry {
                while e >= 0, entry[e] >= t {
                    let s = Int(entryPosition[e])
                    let r = risk[s]
                    denom -= r
                    atRisk -= 1
                    for j in 0..<p {
                        let rx = r * x[s * p + j]
                        a[j] -= rx
                        for l in 0...j { cmat[j * p + l] -= rx * x[s * p + l] }
                    }
                    e -= 1
                }
                if atRisk == 0 {
                    denom = 0
                    for j in 0..<p { a[j] = 0 }
                    for j in 0..<(p * p) { cmat[j] = 0 }
                }
            }
            if deaths == 0 { continue }
            let dd = Double(deaths)
            for k in 0..<deaths {
                let frac = Double(k) / dd
                let d2 = denom - frac * deathRisk
                for j in 0..<p {
                    xbar[j] = (a[j] - frac * a2[j]) / d2
                    u[j] -= gt * xbar[j]
                }
                for j in 0..<p {
                    for l in 0...j {
                        let c = (cmat[j * p + l] - frac * cmat2[j * p + l]) / d2 - xbar[j] * xbar[l]
                        imat[j * q + l] += c
                        imat[j * q + l + p] += gt * c
                        imat[(j + p) * q + l + p] += gt * gt * c
                    }
                }
            }
        }
        // Symmetric fill of the blocks (each block is symmetric; only j >= l was accumulated).
        for j in 0..<p {
            for l in 0..<j {
                imat[l * q + j] = imat[j * q + l]
                imat[l * q + j + p] = imat[j * q + l + p]
                imat[(l + p) * q + j + p] = imat[(j + p) * q + l + p]
            }
        }
        for j in 0..<p {
            for l in 0..<p { imat[(j + p) * q + l] = imat[l * q + j + p] }
        }
    }
}
