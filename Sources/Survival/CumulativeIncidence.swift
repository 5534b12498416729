/// A cumulative incidence function of one cause in one group (Aalen-Johansen), with the variance
/// exactly as `cmprsk::cuminc` computes it.
///
/// Source: cmprsk 2.2-11, Fortran `cinc` (Gray's delta-method variance): at each distinct time with
/// d1 events of the cause and d2 of other causes among r at risk, with S the all-cause
/// Kaplan-Meier just before, F jumps by S d1 / r; three running sums v1, v2, v3 collect the
/// variance terms (with the tie corrections 1 - (d - 1)/(r - 1)), and after each jump of F the
/// variance is v1 + F^2 v3 - 2 F v2. Between jumps F and its variance stay as at the last jump
/// (a step function, as cuminc reports it).
public struct CumulativeIncidenceCurve: Sendable, Equatable {
    /// Times at which the cause has events, ascending (the jumps of the step function).
    public let time: [Double]
    /// F just after each time.
    public let estimate: [Double]
    /// cmprsk's variance of F at each time.
    public let variance: [Double]
    /// The last follow-up time of the group (the curve is defined up to here).
    public let lastTime: Double
    public let n: Int
    public let events: Int

    /// The estimator on subjects sorted by time ascending.
    ///
    /// - Parameters:
    ///   - time: exit times, ascending.
    ///   - code: 0 = censored, else a cause number.
    ///   - cause: the cause of interest.
    static func estimateSorted(time: [Double], code: [Int32], cause: Int32) -> CumulativeIncidenceCurve {
        let n = time.count
        var outTime: [Double] = [], outF: [Double] = [], outV: [Double] = []
        var fk = 1.0  // all-cause Kaplan-Meier just before the current time
        var f = 0.0
        var v1 = 0.0, v2 = 0.0, v3 = 0.0
        var rs = Double(n)
        var events = 0
        var i = 0
        while i < n {
            let t = time[i]
            var nd1 = 0, nd2 = 0
            var j = i
            while j < n, time[j] == t {
                let c = code[j]
                if c == cause { nd1 += 1 } else if c != 0 { nd2 += 1 }
                j += 1
            }
            let nd = nd1 + nd2
            if nd > 0 {
                let fkn = fk * (rs - Double(nd)) / rs
                if nd1 > 0 { f += fk * Double(nd1) / rs }
                if nd2 > 0, fkn > 0 {
                    let t5 = nd2 > 1 ? 1 - (Double(nd2) - 1) / (rs - 1) : 1
                    let t6 = fk * fk * t5 * Double(nd2) / (rs * rs)
                    let t3 = 1 / fkn
                    let t4 = f / fkn
                    v1 += t4 * t4 * t6
                    v2 += t3 * t4 * t6
                    v3 += t3 * t3 * t6
                }
                if nd1 > 0 {
                    let t5 = nd1 > 1 ? 1 - (Double(nd1) - 1) / (rs - 1) : 1
                    let t6 = fk * fk * t5 * Double(nd1) / (rs * rs)
                    let t3 = fkn > 0 ? 1 / fkn : 0
                    let t4 = 1 + t3 * f
                    v1 += t4 * t4 * t6
                    v2 += t3 * t4 * t6
                    v3 += t3 * t3 * t6
                    outTime.append(t)
                    outF.append(f)
                    outV.append(v1 + f * f * v3 - 2 * f * v2)
                    events += nd1
                }
                fk = fkn
            }
            rs = Double(n - j)
            i = j
        }
        return CumulativeIncidenceCurve(
            time: outTime, estimate: outF, variance: outV, lastTime: time.last ?? 0, n: n, events: events)
    }

    /// F and its variance at time t (R: `timepoints`): the value at the last jump <= t (0 before
    /// the first), nil after the last follow-up time.
    public func value(at t: Double) -> (estimate: Double, variance: Double)? {
        if n == 0 || t > lastTime { return nil }
        var lo = 0, hi = time.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if time[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? (0, 0) : (estimate[lo - 1], variance[lo - 1])
    }

    /// Pointwise limits by the log(-log) transform,
    /// est^exp(-/+ z sqrt(var) / (est log est)), nil where est is 0 or 1 (or the result is not finite).
    public static func limits(estimate: Double, variance: Double, z: Double) -> (lower: Double?, upper: Double?) {
        if !(estimate > 0 && estimate < 1) || !(variance >= 0) { return (nil, nil) }
        let a = exp(z * variance.squareRoot() / (estimate * Glibc_log(estimate)))
        let x = pow(estimate, a), y = pow(estimate, 1 / a)
        return (finite(min(x, y)), finite(max(x, y)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
