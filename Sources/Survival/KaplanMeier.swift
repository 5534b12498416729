#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Confidence interval transform for a survival curve (R: `survfit(conf.type = )`).
public enum ConfidenceType: String, Codable, Sendable, CaseIterable {
    /// CI for log S: R's default.
    case log
    /// CI for log(-log S): lifelines' default.
    case logLog = "log-log"
    /// CI for S itself (Klein & Moeschberger 4.3.1).
    case plain
}

/// A Kaplan-Meier curve with Greenwood variance, one row per distinct follow-up time (events and
/// censorings), exactly the rows of R's `summary(survfit(...), censored = TRUE)`.
///
/// Source: R survival 3.5 `survfitKM` / C `survfitkm`: at each time, S *= (n - d) / n and the
/// Greenwood sum grows by d / (n (n - d)) when d > 0. With delayed entry a subject is at risk at t
/// when entry < t <= exit (R: `Surv(entry, exit, event)`).
public struct KaplanMeierCurve: Sendable, Equatable {
    /// Distinct exit times, ascending.
    public let time: [Double]
    public let nRisk: [Int]
    public let nEvent: [Int]
    public let nCensor: [Int]
    /// Kaplan-Meier estimate just after each time.
    public let survival: [Double]
    /// sqrt of the Greenwood sum: the standard error of log S (R's `fit$std.err`); +inf once S is 0.
    public let logStdErr: [Double]
    /// Number of subjects.
    public let n: Int
    /// Number of events.
    public let events: Int

    /// Fits the curve; validates the input.
    ///
    /// - Parameters:
    ///   - time: exit (event or censoring) times, finite and >= 0.
    ///   - event: true for an event, false for a censoring.
    ///   - entry: optional delayed-entry times, finite, >= 0 and < exit.
    public static func fit(
        time: [Double], event: [Bool], entry: [Double]? = nil
    ) throws(SurvivalError) -> KaplanMeierCurve {
        try validateSurvivalColumns(time: time, event: event, entry: entry)
        if time.isEmpty { throw .noSubjects }
        return estimate(time: time, event: event, entry: entry)
    }

    /// The estimator without validation (callers have validated).
    static func estimate(time: [Double], event: [Bool], entry: [Double]?) -> KaplanMeierCurve {
        let (order, sortedTime) = sortTimes(time)
        return estimateSorted(
            time: sortedTime, event: order.map { event[Int($0)] }, sortedEntries: entry.map { sortTimes($0).sorted })
    }

    /// The estimator on exit times sorted ascending (events in the same order) and entry times
    /// sorted ascending on their own.
    ///
    /// With `keepCounts` false the at-risk, event and censoring columns are left empty (for
    /// internal curves that only need the estimate and its variance, such as the reverse curve).
    static func estimateSorted(
        time sortedTime: [Double], event sortedEvent: [Bool], sortedEntries entries: [Double]?,
        keepCounts: Bool = true
    ) -> KaplanMeierCurve {
        let n = sortedTime.count
        let entry = entries
        let sortedEntries = entries ?? []
        let m = distinctCount(sortedTime)
        var outTime = [Double](), outRisk = [Int](), outEvent = [Int](), outCensor = [Int]()
        var outSurv = [Double](), outSE = [Double]()
        outTime.reserveCapacity(m)
        if keepCounts {
            outRisk.reserveCapacity(m)
            outEvent.reserveCapacity(m)
            outCensor.reserveCapacity(m)
        }
        outSurv.reserveCapacity(m)
        outSE.reserveCapacity(m)
        var km = 1.0
        var greenwood = 0.0
        var processed = 0  // subjects with exit < current time
        var entered = 0  // subjects with entry < current time
        var totalEvents = 0
        var i = 0
        while i < n {
            let t = sortedTime[i]
            var d = 0
            var j = i
            while j < n, sortedTime[j] == t {
                if sortedEvent[j] { d += 1 }
                j += 1
            }
            let atRisk: Int
            if entry != nil {
                while entered < n, sortedEntries[entered] < t { entered += 1 }
                atRisk = entered - processed
            } else {
                atRisk = n - processed
            }
            if d > 0 {
                let nr = Double(atRisk), dd = Double(d)
                km *= (nr - dd) / nr
                greenwood += dd / (nr * (nr - dd))
            }
            outTime.append(t)
            if keepCounts {
                outRisk.append(atRisk)
                outEvent.append(d)
                outCensor.append(j - i - d)
            }
            outSurv.append(km)
            outSE.append(greenwood.squareRoot())
            totalEvents += d
            processed = j
            i = j
        }
        return KaplanMeierCurve(
            time: outTime, nRisk: outRisk, nEvent: outEvent, nCensor: outCensor,
            survival: outSurv, logStdErr: outSE, n: n, events: totalEvents)
    }

    /// Standard error of S on the survival scale, S * se(log S), as `summary.survfit` reports it
    /// (NaN where R reports NaN, i.e. once S = 0).
    public var standardError: [Double] {
        zip(survival, logStdErr).map { $0 * $1 }
    }

    /// Pointwise confidence limits, NaN where R reports NA.
    ///
    /// Source: R survival `survfit_confint` with `logse = TRUE`:
    /// plain: S -/+ z se S, clipped to [0, 1]; log: exp(log S -/+ z se), upper clipped to 1,
    /// NA when S = 0; log-log: exp(-exp(log(-log S) -/+ z se / log S)), NA when S is 0 or 1.
    public func confidenceLimits(
        type: ConfidenceType, level: Double
    ) -> (lower: [Double], upper: [Double]) {
        let z = Distributions.normalQuantile(1 - (1 - level) / 2)
        var lower = [Double](repeating: .nan, count: survival.count)
        var upper = [Double](repeating: .nan, count: survival.count)
        var memo = LimitsMemo(type: type, z: z)
        for k in 0..<survival.count {
            let (lo, up) = memo.limits(survival[k], logStdErr[k])
            lower[k] = lo
            upper[k] = up
        }
        return (lower, upper)
    }

    /// One pair of limits (see `confidenceLimits`); `se` is the standard error of log S.
    @inline(__always)
    static func limits(_ p: Double, _ se: Double, type: ConfidenceType, z: Double) -> (Double, Double) {
        switch type {
        case .plain:
            let se2 = se * p * z
            if se2.isNaN { return (.nan, .nan) }
            return (max(p - se2, 0), min(p + se2, 1))
        case .log:
            if p == 0 { return (.nan, .nan) }
            let se2 = z * se
            let lp = Glibc_log(p)
            return (exp(lp - se2), min(exp(lp + se2), 1))
        case .logLog:
            if p == 0 || p == 1 { return (.nan, .nan) }
            let lp = Glibc_log(p)
            let se2 = z * se / lp
            let llp = Glibc_log(-lp)
            return (exp(-exp(llp - se2)), exp(-exp(llp + se2)))
        }
    }

    /// `limits` that remembers its last answer: a time with censorings only repeats the previous
    /// point's S and standard error, so its limits are the previous ones (same inputs, same
    /// bits) without another log and two exps.
    struct LimitsMemo {
        let type: ConfidenceType
        let z: Double
        private var p = 0.0, se = 0.0, result = (0.0, 0.0), isSet = false

        init(type: ConfidenceType, z: Double) {
            self.type = type
            self.z = z
        }

        @inline(__always)
        mutating func limits(_ p: Double, _ se: Double) -> (Double, Double) {
            if isSet, p.bitPattern == self.p.bitPattern, se.bitPattern == self.se.bitPattern { return result }
            result = KaplanMeierCurve.limits(p, se, type: type, z: z)
            self.p = p
            self.se = se
            isSet = true
            return result
        }
    }

    /// The p-quantile of the survival time with its confidence limits from the pointwise bands
    /// (R: `quantile.survfit`, which the median in `print.survfit` shares): the first time
    /// S <= 1 - p, the midpoint of the flat stretch when S equals 1 - p within sqrt(machine eps),
    /// nil when the curve (or band) never gets there.
    public func quantile(
        _ p: Double, type: ConfidenceType, level: Double
    ) -> (estimate: Double?, lower: Double?, upper: Double?) {
        // Limits computed point by point instead of as arrays: this serves the reverse curve of
        // the whole data set (median follow-up), where arrays would dominate peak memory.
        let z = Distributions.normalQuantile(1 - (1 - level) / 2)
        let s = survival, se = logStdErr
        var lowerMemo = LimitsMemo(type: type, z: z), upperMemo = LimitsMemo(type: type, z: z)
        return (
            findQuantile(times: time, count: s.count, p: p) { s[$0] },
            findQuantile(times: time, count: s.count, p: p) { lowerMemo.limits(s[$0], se[$0]).0 },
            findQuantile(times: time, count: s.count, p: p) { upperMemo.limits(s[$0], se[$0]).1 }
        )
    }

    /// Quantile with precomputed limits (see `quantile(_:type:level:)`).
    func quantile(
        _ p: Double, lower: [Double], upper: [Double]
    ) -> (estimate: Double?, lower: Double?, upper: Double?) {
        (
            findQuantile(times: time, count: survival.count, p: p) { survival[$0] },
            findQuantile(times: time, count: lower.count, p: p) { lower[$0] },
            findQuantile(times: time, count: upper.count, p: p) { upper[$0] }
        )
    }

    /// Survival at a landmark time with its limits and the number at risk there
    /// (R: `summary(fit, times = t)`: S and its limits from the last curve time <= t, or 1 before
    /// the first; n at risk from the first curve time >= t).
    ///
    /// R drops times after the last follow-up time (`extend = FALSE`); here they come back with
    /// nil estimates and 0 at risk, so that the caller sees that the landmark was not reached.
    public func landmark(
        _ t: Double, lower: [Double], upper: [Double]
    ) -> (survival: Double?, stdErr: Double?, lower: Double?, upper: Double?, nRisk: Int) {
        guard let last = time.last, t <= last else { return (nil, nil, nil, nil, 0) }
        // index1 = number of curve times <= t; index2 = first curve time >= t
        var lo = 0, hi = time.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if time[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        let index1 = lo
        lo = 0
        hi = time.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if time[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        let atRisk = nRisk[lo]
        if index1 == 0 {
            return (1, 0, 1, 1, atRisk)
        }
        let k = index1 - 1
        return (
            finite(survival[k]), finite(survival[k] * logStdErr[k]), finite(lower[k]), finite(upper[k]),
            atRisk
        )
    }

    /// Restricted mean survival time up to `tau` with its standard error
    /// (R: `print(fit, rmean = tau)`, internal `survmean`): the area under S from 0 to tau, and
    /// variance sum_j A_j^2 d_j / (n_j (n_j - d_j)) over curve times t_j <= tau, where A_j is the
    /// area from t_j to tau (terms with n_j = d_j contribute 0, as in R).
    public func restrictedMean(tau: Double) -> (estimate: Double, stdErr: Double) {
        let startTime = min(0, time.first ?? 0)
        var keep = 0
        while keep < time.count, time[keep] <= tau { keep += 1 }
        if keep == 0 {
            return (tau, 0)
        }
        // temptime = c(time[keep], tau); tempsurv = c(surv[keep], surv[last keep]); hh = c(hh[keep], 0)
        // rectangles[k] = (temptime[k] - temptime[k-1]) * (k == 0 ? 1 : tempsurv[k-1])
        let m = keep + 1
        var rect = [Double](repeating: 0, count: m)
        var previousTime = startTime
        for k in 0..<m {
            let tk = k < keep ? time[k] : tau
            let height = k == 0 ? 1.0 : survival[k - 1]
            rect[k] = (tk - previousTime) * height
            previousTime = tk
        }
        var mean = 0.0
        for r in rect { mean += r }
        mean += startTime
        // varmean = sum(cumsum(rev(rectangles[-1]))^2 * rev(hh)[-1])
        var variance = 0.0
        var tail = 0.0
        var k = m - 1
        while k >= 1 {
            tail += rect[k]
            let j = k - 1  // hh index paired with this tail area
            let nr = Double(nRisk[j]), d = Double(nEvent[j])
            let hh = (nr - d) == 0 ? 0 : d / (nr * (nr - d))
            variance += tail * tail * hh
            k -= 1
        }
        return (mean, variance.squareRoot())
    }
}

/// R's `log`, named so that it is not shadowed by `ConfidenceType.log` inside the switch.
@inline(__always)
func Glibc_log(_ x: Double) -> Double { log(x) }

@inline(__always)
func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

/// R survival's internal `findq(x, y, p, tol)`, used by `quantile.survfit`, on
/// x = (0, times...) and y = (0, 1 - curve(0), 1 - curve(1), ...), where `curve` gives the survival
/// curve or one of its limits at each time (NaN = NA).
///
/// R drops duplicated y values (keeping each value's first time) and finds the quantile with
/// `approx(y +/- tol, 1:n, p, method = "constant", f = 1)`: the first time y + tol >= p and the
/// first time y - tol >= p, averaged, so that a curve equal to 1 - p over an interval gives the
/// midpoint of that interval (and, if the curve ends flat there, the midpoint with the last time).
/// When y is non-decreasing (always for the estimate, almost always for the limits) this is one
/// linear scan without copies; otherwise the values are sorted as `approx` sorts them.
func findQuantile(
    times: [Double], count curveCount: Int, p: Double, tol: Double = 1.4901161193847656e-08,
    curve: (Int) -> Double
) -> Double? {
    let count = curveCount + 1
    @inline(__always) func x(_ k: Int) -> Double { k == 0 ? 0 : times[k - 1] }
    @inline(__always) func y(_ k: Int) -> Double { k == 0 ? 0 : 1 - curve(k - 1) }
    let xmax = x(count - 1)
    var monotone = true
    var maxY = -Double.infinity
    var firstNaN = -1
    var firstOfMax = -1
    var previous = -Double.infinity
    for k in 0..<count {
        let v = y(k)
        if v.isNaN {
            if firstNaN < 0 { firstNaN = k }
            continue
        }
        if v < previous { monotone = false }
        previous = v
        if v > maxY {
            maxY = v
            firstOfMax = k
        }
    }
    if maxY == -Double.infinity || maxY < p { return nil }

    if monotone {
        // Sorted, distinct knots are the first occurrences; NaN knots are skipped by approx.
        func approxConstant(shift: Double) -> Int? {
            if p < y(0) + shift || p > maxY + shift { return nil }
            for k in 0..<count {
                let v = y(k)
                if !v.isNaN, v + shift >= p { return k }
            }
            return nil
        }
        let index1 = approxConstant(shift: tol)
        let index2 = approxConstant(shift: -tol)
        var quant: Double? = nil
        if let i1 = index1, let i2 = index2 { quant = (x(i1) + x(i2)) / 2 }
        if p == 0 { quant = x(0) }
        // The last value after dropping duplicates: the first NaN if it comes after the maximum.
        let lastIsNaN = firstNaN >= 0 && firstNaN > firstOfMax
        if !lastIsNaN, abs(p - maxY) < tol {
            quant = index1.map { (x($0) + xmax) / 2 }
        }
        return quant
    }

    // General case: distinct values with their first index, sorted by value (approx sorts).
    var knots: [(value: Double, index: Int)] = []
    for k in 0..<count {
        let v = y(k)
        if !v.isNaN { knots.append((v, k)) }
    }
    knots.sort { $0.value < $1.value || ($0.value == $1.value && $0.index < $1.index) }
    var distinct: [(value: Double, index: Int)] = []
    for knot in knots where distinct.last?.value != knot.value { distinct.append(knot) }
    func approxConstant(shift: Double) -> Int? {
        guard let first = distinct.first, let last = distinct.last else { return nil }
        if p < first.value + shift || p > last.value + shift { return nil }
        var lo = 0, hi = distinct.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if distinct[mid].value + shift <= p { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0, distinct[lo - 1].value + shift == p { return distinct[lo - 1].index }
        return lo < distinct.count ? distinct[lo].index : nil
    }
    let index1 = approxConstant(shift: tol)
    let index2 = approxConstant(shift: -tol)
    var quant: Double? = nil
    if let i1 = index1, let i2 = index2 { quant = (x(i1) + x(i2)) / 2 }
    if p == 0 { quant = x(0) }
    // The last value after dropping duplicates is the one whose first occurrence is latest.
    var lastValue = Double.nan
    var lastIndex = firstNaN
    for knot in distinct where knot.index > lastIndex {
        lastIndex = knot.index
        lastValue = knot.value
    }
    if !lastValue.isNaN, abs(p - lastValue) < tol {
        quant = index1.map { (x($0) + xmax) / 2 }
    }
    return quant
}

/// Shared input checks (DOMAIN.md section 7: times are >= 0; R's `Surv` rejects entry >= exit).
func validateSurvivalColumns(time: [Double], event: [Bool], entry: [Double]?) throws(SurvivalError) {
    if event.count != time.count {
        throw .lengthMismatch(column: "event", expected: time.count, actual: event.count)
    }
    if let entry, entry.count != time.count {
        throw .lengthMismatch(column: "entry", expected: time.count, actual: entry.count)
    }
    for (i, t) in time.enumerated() where !(t.isFinite && t >= 0) {
        throw .invalidTime(index: i)
    }
    if let entry {
        for (i, e) in entry.enumerated() where !(e.isFinite && e >= 0 && e < time[i]) {
            throw .invalidEntry(index: i)
        }
    }
}
